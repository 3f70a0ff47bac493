"""Run the lab: one stack per profile (plus the special stacks a scenario asks for), every
selected scenario on it, a progress line per scenario, and the cells for the report."""

import contextlib
import shutil
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from shop.stack.stack import DEFAULT_RUN_DIR, PROFILES, Stack

from . import report as reporting
from .outcome import Cell, NotApplicable
from .shopper import Shopper, products_for_sale

# The order of DESIGN.md's table: from the stateful failure to the stateless cookie.
LAB_PROFILES = ("locmem", "file", "db", "cache", "cached_db", "signed_cookies")
DEFAULT_RUN_ROOT = DEFAULT_RUN_DIR / "sessionlab"
SEED = "seed_catalog --products 20 --if-empty"
assert set(LAB_PROFILES) == set(PROFILES)


def shown(path):
    """A path as people type it: relative to the current folder when it is inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass
class Options:
    profiles: list = field(default_factory=lambda: list(LAB_PROFILES))
    scenarios: list = field(default_factory=list)  # Scenario objects
    servers: int = 3
    workers: int = 2
    probes: int = 24
    trials: int = 5
    db: str = "sqlite"
    quick: bool = False
    run_root: Path = DEFAULT_RUN_ROOT


class Context:
    """What a scenario works with: the profile, the options, the profile's stack, special stacks."""

    def __init__(self, lab, profile):
        self.lab, self.profile = lab, profile
        options = lab.options
        self.servers, self.workers, self.probes = options.servers, options.workers, options.probes
        self.trials, self.quick = options.trials, options.quick
        self._stack = None
        self._products = {}
        self.used = []  # descriptions of the stacks the current scenario used

    @property
    def stack(self):
        """The profile's stack (round robin, the chosen servers x workers), started when first needed."""
        if self._stack is None or self._stack.stopped.is_set():
            self._stack = self.lab.start_stack(self.profile, self.profile)
        self._note_use(self._stack)
        return self._stack

    @contextlib.contextmanager
    def special_stack(self, **overrides):
        """A stack for one scenario (``balance=``, ``servers=``, ``workers=``), stopped after it."""
        shape = {"balance": "round_robin", "servers": self.servers, "workers": self.workers} | overrides
        label = f"{self.profile}-{shape['balance']}-{shape['servers']}x{shape['workers']}"
        stack = self.lab.start_stack(self.profile, label, **overrides)
        self._note_use(stack)
        try:
            yield stack
        finally:
            stack.stop()

    def _note_use(self, stack):
        text = (
            f"{len(stack.servers)} servers x {stack.workers} workers, {stack.balance}, db {stack.db} "
            f"(log: {shown(stack.run_dir / 'stack.log')})"
        )
        if text not in self.used:
            self.used.append(text)

    def retire_stack(self):
        """Stop the profile's stack (after a failed scenario its state is unknown)."""
        if self._stack is not None:
            self._stack.stop()
            self._stack = None

    def shopper(self, stack, label):
        return Shopper(stack.url, f"{self.profile}-{label}".replace("_", ""))

    def products(self, stack):
        if stack.url not in self._products:
            self._products[stack.url] = products_for_sale(stack.url)
        return self._products[stack.url]

    def progress(self, text):
        self.lab.say(f"      · {text}")


class Lab:
    def __init__(self, options, out):
        self.options = options
        self.out = out
        self.cells = []
        self.run_root = Path(options.run_root).resolve()
        self.database = self.run_root / "shop.sqlite3"
        self._logs = []
        self._labels = {}

    def say(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def run(self):
        """Every selected cell, profile by profile; the cells so far are in ``cells`` meanwhile."""
        self.run_root.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):  # a fresh catalog (and stock) for every run
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)
        try:
            for profile in self.options.profiles:
                self.run_profile(profile)
        finally:
            for log in self._logs:
                log.close()
        return self.cells

    def run_profile(self, profile):
        self.say(profile)
        context = Context(self, profile)
        try:
            for scenario in self.options.scenarios:
                cell = self.run_cell(context, scenario)
                self.cells.append(cell)
                self.report_cell(cell, scenario)
        finally:
            context.retire_stack()

    def run_cell(self, context, scenario):
        cell = Cell(profile=context.profile, scenario=scenario.number, status="n/a")
        reason = scenario.not_applicable(context.profile)
        if reason:
            cell.note = reason
            return cell
        context.used = []
        started = time.monotonic()
        try:
            outcome = scenario.run(context)
        except NotApplicable as reason:
            cell.note = str(reason)
        except Exception as error:  # one failed cell must not cost the rest of the matrix
            cell.status, cell.line = "error", f"{type(error).__name__}: {error}"
            cell.details = {"traceback": traceback.format_exc()}
            context.retire_stack()
        else:
            cell.status = "measured"
            cell.parts, cell.line, cell.note = outcome.parts, outcome.line, outcome.note
            cell.details = outcome.details
        cell.seconds = round(time.monotonic() - started, 1)
        cell.stacks = list(context.used)
        return cell

    def report_cell(self, cell, scenario):
        head = f"  {scenario.number} {scenario.title:<16} {cell.summary:<24}"
        if cell.status == "measured":
            self.say(f"{head} {cell.line} ({cell.seconds:.1f} s)")
        elif cell.status == "error":
            self.say(f"{head} {cell.line} (stacks: {'; '.join(cell.stacks) or 'none started'})")
        else:
            self.say(f"{head} {cell.note}")

    def start_stack(self, profile, label, **overrides):
        options = {"servers": self.options.servers, "workers": self.options.workers} | overrides
        # A second stack of the same label in one run (after a failed cell) keeps the first's logs.
        self._labels[label] = self._labels.get(label, 0) + 1
        if self._labels[label] > 1:
            label = f"{label}-{self._labels[label]}"
        run_dir = self.run_root / label
        owner = run_dir / "stack.pid"
        if not (owner.exists() and Path(f"/proc/{owner.read_text().strip()}").exists()):
            shutil.rmtree(run_dir, ignore_errors=True)  # fresh keys, Redis data and logs every run
        run_dir.mkdir(parents=True, exist_ok=True)
        env = {"DATABASE_URL": f"sqlite:///{self.database}"} if self.options.db == "sqlite" else {}
        started = time.monotonic()
        log = open(run_dir / "stack.log", "a")  # noqa: SIM115 (closed when the run ends)
        self._logs.append(log)
        stack = Stack(
            profile=profile,
            db=self.options.db,
            port=0,
            run_dir=run_dir,
            env=env,
            setup_commands=[SEED],
            out=log,
            **options,
        )
        stack.start()
        self.say(
            f"    stack {label}: {len(stack.servers)} servers x {stack.workers} workers, {stack.balance}, "
            f"at {stack.url}, ready in {time.monotonic() - started:.1f} s "
            f"(log: {shown(run_dir / 'stack.log')})"
        )
        return stack


def run_lab(options, out, output=reporting.RESULTS_DIR, command="python manage.py sessionlab"):
    """Run the selected cells, print progress and the matrix to ``out``, write the report files.

    Returns (report, paths). If interrupted, what was measured so far is still written.
    """
    started = datetime.now().astimezone()
    lab = Lab(options, out)
    complete = False
    try:
        lab.run()
        complete = True
    finally:
        report = reporting.build(lab.cells, options, command, started, datetime.now().astimezone(), complete)
        paths = reporting.write(report, output) if lab.cells else {}
        if lab.cells:
            out.write("\n" + reporting.matrix_text(report) + "\n\n")
            out.write(f"Report: {paths['html']}\n        {paths['json']}\n")
            out.write(f"Latest: {paths['latest_html']} (served at /lab/report/)\n")
    return report, paths
