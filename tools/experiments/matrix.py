"""The lab's matrix: one stack per profile, every selected scenario on it, and the report.

Each run writes ``sessionlab-<UTC time>.json`` and ``.html`` into ``results/`` and copies them to
``latest.json`` and ``latest.html``, which /lab/report/ serves.
"""

import json
import platform
import shutil
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import django
from django.conf import settings
from django.template.loader import render_to_string

from shop.core.profiles import PROFILES
from tools.stack.stack import DEFAULT_RUN_DIR, Stack

from .context import Context
from .outcome import Cell, NotApplicable

RESULTS_DIR = settings.SHOP_LAB_RESULTS_DIR
LATEST_HTML = "latest.html"  # what /lab/report/ serves
DEFAULT_RUN_ROOT = DEFAULT_RUN_DIR / "sessionlab"
SEED = "seed_catalog --products 40 --if-empty"
FORMAT_VERSION = 2
SETUP = ("servers", "workers", "db", "probes", "trials", "quick")  # the options a report records


@dataclass
class Options:
    profiles: list = field(default_factory=lambda: list(PROFILES))
    scenarios: list = field(default_factory=list)  # Scenario objects
    servers: int = 3
    workers: int = 2
    probes: int = 24
    trials: int = 5
    db: str = "sqlite"
    quick: bool = False
    run_root: Path = DEFAULT_RUN_ROOT

    @property
    def command(self):
        """The exact command that reproduces this run, every option spelled out."""
        numbers = ",".join(str(s.number) for s in self.scenarios)
        return (
            f"python manage.py sessionlab --profiles {','.join(self.profiles)} --scenarios {numbers} "
            f"--servers {self.servers} --workers {self.workers} --probes {self.probes} "
            f"--trials {self.trials} --db {self.db}" + (" --quick" if self.quick else "")
        )


class Lab:
    def __init__(self, options, out):
        self.options, self.out = options, out
        self.run_root = Path(options.run_root).resolve()
        self.database = self.run_root / "shop.sqlite3"
        self.cells, self._logs = [], []

    def say(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def start_stack(self, profile, **shape):
        """A stack in a fresh run folder of its own (keys, Redis data, log), on the lab's database."""
        run_dir = self.run_root / f"{len(self._logs) + 1:02d}-{profile}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        shape = {"servers": self.options.servers, "workers": self.options.workers} | shape
        env = {"DATABASE_URL": f"sqlite:///{self.database}"} if self.options.db == "sqlite" else {}
        env |= shape.pop("env", {})
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
            **shape,
        )
        started = time.monotonic()
        stack.start()
        seconds = time.monotonic() - started
        self.say(f"    {stack.describe()}, ready in {seconds:.1f} s\n    log: {run_dir / 'stack.log'}")
        return stack

    def run(self):
        """Every selected cell, profile by profile; ``cells`` holds the ones measured so far."""
        self.run_root.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):  # a fresh catalog (and stock) for every run
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)
        try:
            for profile in self.options.profiles:
                self.say(profile)
                self.run_profile(profile)
        finally:
            for log in self._logs:
                log.close()
        return self.cells

    def run_profile(self, profile):
        stack = None
        try:
            for scenario in self.options.scenarios:
                if not scenario.skip.get(profile) and (stack is None or stack.stopped.is_set()):
                    stack = self.start_stack(profile)
                cell = self.run_cell(profile, scenario, stack)
                self.cells.append(cell)
                if cell.status == "error":  # after a failed scenario the stack's state is unknown
                    stack.stop()
        finally:
            if stack:
                stack.stop()

    def run_cell(self, profile, scenario, stack):
        cell = Cell(
            profile=profile, scenario=scenario.number, status="n/a", note=scenario.skip.get(profile, "")
        )
        if stack is not None and not cell.note:
            ctx = Context(
                stack,
                probes=self.options.probes,
                trials=self.options.trials,
                quick=self.options.quick,
                start_stack=self.start_stack,
                progress=lambda text: self.say(f"      · {text}"),
                used=[stack.describe()],
            )
            started = time.monotonic()
            try:
                outcome = scenario.run(ctx)
            except NotApplicable as reason:
                cell.note = str(reason)
            except Exception as error:  # one failed cell must not cost the rest of the matrix
                cell.status, cell.line = "error", f"{type(error).__name__}: {error}"
                self.say(traceback.format_exc())  # for the console and the log, not for the report
            else:
                cell = replace(cell, status="measured", **vars(outcome))  # parts, line, note, details
            cell.seconds, cell.stacks = round(time.monotonic() - started, 1), ctx.used
        self.say(f"  {scenario.number} {scenario.title:<16} {cell.summary:<24} {cell.line or cell.note}")
        return cell


def run_lab(options, out, output=RESULTS_DIR):
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
        report = build(lab.cells, options, started, complete)
        paths = write(report, output) if lab.cells else {}
        if lab.cells:
            out.write(
                f"\n{matrix_text(report)}\n\nReport: {paths['html']}\n        {paths['json']}\n"
                f"Latest: {paths['latest_html']} (served at /lab/report/)\n"
            )
    return report, paths


def build(cells, options, started, complete):
    """Everything the run measured, as JSON-ready data (no host names, no tracebacks)."""
    finished = datetime.now().astimezone()
    return {
        "format": FORMAT_VERSION,
        "command": options.command,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 1),
        "complete": complete,
        "setup": {name: getattr(options, name) for name in SETUP}
        | {"python": platform.python_version(), "django": django.get_version()},
        "profiles": list(options.profiles),
        "scenarios": [
            {"number": s.number, "key": s.key, "title": s.title, "question": s.question}
            for s in options.scenarios
        ],
        "cells": [cell.as_json() for cell in cells],
    }


def cell_at(report, profile, number):
    return next((c for c in report["cells"] if c["profile"] == profile and c["scenario"] == number), None)


def legend(report):
    """What each count of a scenario's cell means: the part labels of its first measured cell."""
    meanings = {}
    for scenario in report["scenarios"]:
        cells = (cell_at(report, profile, scenario["number"]) for profile in report["profiles"])
        measured = next((c for c in cells if c and c["status"] == "measured"), None)
        if measured:
            meanings[scenario["number"]] = [part["label"] for part in measured["parts"]]
    return meanings


def matrix_text(report):
    """The matrix as an aligned Markdown table with its legend: for the console and for docs."""
    rows = [["profile", *(f"{s['number']} {s['title']}" for s in report["scenarios"])]]
    for profile in report["profiles"]:
        cells = (cell_at(report, profile, s["number"]) for s in report["scenarios"])
        rows.append([profile, *(cell["summary"] if cell else "" for cell in cells)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    lines.append("\n✓ all kept, ◐ some, ✗ none; each count is good/total requests (or trials) really made:")
    titles = {s["number"]: s["title"] for s in report["scenarios"]}
    lines += [
        f"- {number} {titles[number]}: " + "; ".join(labels) for number, labels in legend(report).items()
    ]
    return "\n".join(lines)


def color(fraction):
    """Red at 0, amber at one half, green at 1."""
    red, amber, green = (192, 57, 43), (230, 162, 60), (46, 139, 87)
    low, high, f = (red, amber, fraction * 2) if fraction < 0.5 else (amber, green, fraction * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(low, high, strict=True))


def render_html(report):
    """The self-contained report (inline styles, no script): it opens from disk as well."""
    cells = [
        cell
        | {
            "boxes": [
                part | {"color": color(part["good"] / part["total"] if part["total"] else 0)}
                for part in cell["parts"]
            ],
            "raw": json.dumps(cell["details"], indent=1, ensure_ascii=False) if cell["details"] else "",
        }
        for cell in report["cells"]
    ]
    table = [
        {"profile": p, "cells": [cell_at({"cells": cells}, p, s["number"]) for s in report["scenarios"]]}
        for p in report["profiles"]
    ]
    stories = [
        {"scenario": s, "cells": [c for c in cells if c["scenario"] == s["number"]]}
        for s in report["scenarios"]
    ]
    context = {"report": report, "table": table, "legend": legend(report), "stories": stories}
    return render_to_string("lab/report.html", context)


def write(report, folder=RESULTS_DIR):
    """Write the JSON and HTML of this run and refresh ``latest.*``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(report["started"]).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    paths = {
        "json": folder / f"sessionlab-{stamp}.json",
        "html": folder / f"sessionlab-{stamp}.html",
        "latest_json": folder / "latest.json",
        "latest_html": folder / LATEST_HTML,
    }
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    paths["html"].write_text(render_html(report))
    shutil.copyfile(paths["json"], paths["latest_json"])
    shutil.copyfile(paths["html"], paths["latest_html"])
    return paths
