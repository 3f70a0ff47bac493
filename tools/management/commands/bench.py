import argparse
import json
import shlex
import sys
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shop.core.profiles import PROFILES
from tools.bench import in_process, report, runner
from tools.bench.stages import PROFILE_CELLS, Stage
from tools.client import TRANSPORT_ERRORS, ShopperError
from tools.stack.children import StackError
from tools.stack.stack import DATABASES

FULL_PROFILES = [
    *PROFILES,
    "db@postgres",
    "cache@sentinel",
    "cache@sentinel-nowait",
    "db@nolock",
    "cache@nolock",
    "db@nodevice",
]
QUICK = {"profiles": ["db"], "runs": 2, "scale": False, "growth": False}
FULL = {"profiles": FULL_PROFILES, "runs": 3, "scale": True, "growth": True}
DOC = settings.BASE_DIR / "docs" / "BENCHMARKS.md"
RESULTS = settings.BASE_DIR / "results"


def stage_list(text):
    return [item for item in text.split(",") if item]


class Command(BaseCommand):
    help = """\
Benchmark the session profiles through the real stack. For each profile: start nginx and 3
gunicorn servers (and the profile's store), sign up shoppers through nginx, and drive each
cell with wrk: nginx alone (the ceiling), /healthz (no session: the baseline every ratio
refers to), /lab/probe for an anonymous cart (the engine's read alone) and for a logged-in
shopper, the catalog list, a product page, an add-to-cart POST (a session write) and the
cart page. Each cell runs several times, interleaved; the table shows the median req/s, the
min-max spread, p50/p99 latency, errors, and the CPU time the whole box spent per request.
The full mode adds the catalog at 100,000 products, signed-cookie bytes per cart line, what
encrypting a cookie session costs against signing it (in this process) and db sessions with
1,000,000 rows (about 20 minutes in all). JSON goes to results/;
--write-docs updates docs/BENCHMARKS.md. Needs wrk (scripts/system-deps wrk)."""

    def add_arguments(self, parser):
        add = parser.add_argument
        add(
            "--quick",
            action="store_true",
            help="a development check in well under a minute: profile db, 2 runs x 2 s, no scale or growth",
        )
        add(
            "--profiles",
            type=stage_list,
            help="comma-separated stages: PROFILE, PROFILE@postgres, or a Redis profile @sentinel (a Redis "
            f"group, writes WAIT for both replicas) or @sentinel-nowait, PROFILE@nolock (no session lock), "
            "PROFILE@nodevice (no Device check), PROFILE@nometrics (no Prometheus metrics), "
            "PROFILE@gthread or PROFILE@threads2 (gthread workers with "
            "1 or 2 threads, upstream keep-alive) "
            f"(full: {','.join(FULL_PROFILES)})",
        )
        add("--cells", type=stage_list, help="only these cells (and the /healthz baseline), e.g. add,list")
        add("--db", choices=DATABASES, default="sqlite", help="database of stages named without @ (sqlite)")
        add(
            "--duration",
            type=int,
            default=2,
            help="seconds per run of a cell (2; the catalog at scale runs 2.5x longer)",
        )
        add("--runs", type=int, help="runs per cell, at least 2 (full 3, quick 2)")
        add("--warmup", type=int, default=1, help="seconds of unrecorded load per cell before the runs (1)")
        add("--connections", type=int, default=12, help="wrk connections (12)")
        add("--servers", type=int, default=3, help="gunicorn servers (3)")
        add("--workers", type=int, default=2, help="workers per server (2)")
        add(
            "--scale",
            action=argparse.BooleanOptionalAction,
            help="catalog list and search at 100 and 100,000 products (full: on unless --profiles/--cells)",
        )
        add(
            "--growth",
            action=argparse.BooleanOptionalAction,
            help="signed-cookie bytes per cart line, encrypted against signed cookie sessions in process, "
            "db sessions with many rows (as --scale)",
        )
        add("--session-rows", type=int, default=1_000_000, help="expired rows for the db session measurement")
        add("--json", type=Path, help="where to write the results (results/bench-TIME.json)")
        add("--write-docs", action="store_true", help="update the generated part of docs/BENCHMARKS.md")
        add("--from-json", type=Path, help="run nothing: report (and --write-docs) a saved result")
        add("--keep", action="store_true", help="keep the run folders and the stacks' logs")
        add(
            "--in-process",
            action="store_true",
            help="no stack: per --profiles profile (default all), where a signed-in request's time goes "
            "in one process (each middleware, session load and save, user, Device check, view, template) for "
            "/healthz, /lab/probe, list, product page, cart and add-to-cart (PROFILE@nolock, @nodevice and "
            "@nometrics too, to see what each costs); --write-docs updates its table",
        )
        add(
            "--baseline",
            type=Path,
            help="with --in-process: another checkout of the shop (e.g. a git worktree of main) measured in "
            "the same run, each profile right before this one, for before/after ratios",
        )
        add(
            "--side-by-side",
            action="store_true",
            help="start every --profiles stage at once and interleave their cells (to compare settings, "
            "e.g. db,db@gthread)",
        )

    def handle(self, *args, **options):
        if options["in_process"]:
            return self.in_process(options)
        saved = options["from_json"]
        results = json.loads(saved.read_text()) if saved else self.run(options)
        self.stdout.write("\n" + report.targets_markdown(results))
        if options["write_docs"]:
            document = DOC.read_text() if DOC.exists() else ""
            DOC.write_text(report.replace_generated(document, report.generated_markdown(results)))
            self.stdout.write(f"Updated {DOC.relative_to(settings.BASE_DIR)}.")

    def run(self, options):
        options["mode"] = "quick" if options["quick"] else "full"
        defaults = dict(QUICK if options["quick"] else FULL)
        if options["profiles"] or options["cells"]:
            defaults.update(scale=False, growth=False)  # a chosen subset; --scale/--growth add them
        options.update({key: value for key, value in defaults.items() if options[key] is None})
        unknown = set(options["cells"] or ()) - set(PROFILE_CELLS)
        if unknown:
            raise CommandError(
                f"unknown cell(s) {', '.join(sorted(unknown))}; choose from {', '.join(PROFILE_CELLS)}"
            )
        if options["runs"] < 2:
            raise CommandError("--runs must be at least 2: one run says nothing about the spread")
        try:
            unknown = [stage for stage in options["profiles"] if Stage.parse(stage).profile not in PROFILES]
        except ValueError as error:
            raise CommandError(error) from None
        if unknown:
            raise CommandError(f"unknown profile(s) {', '.join(unknown)}; choose from {', '.join(PROFILES)}")
        path = options["json"] or RESULTS / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        argv = sys.argv[2:] if sys.argv[1:2] == ["bench"] else []
        command = shlex.join(["python", "manage.py", "bench", *argv])

        def save(results):
            path.write_text(json.dumps({**results, "command": command}, indent=1) + "\n")

        try:
            results = runner.run(options, self.say, save)
        except (StackError, ShopperError, *TRANSPORT_ERRORS) as error:
            raise CommandError(f"{error}\n(what was measured before is in {path})") from None
        save(results)
        self.stdout.write(f"Results written to {path}.")
        return {**results, "command": command}

    def in_process(self, options):
        profiles = options["profiles"] or list(PROFILES)
        try:
            unknown = [name for name in profiles if in_process.settings_of(name)[0] not in PROFILES]
        except ValueError as error:
            raise CommandError(error) from None
        if unknown:
            raise CommandError(f"unknown profile(s) {', '.join(unknown)}; choose from {', '.join(PROFILES)}")
        saved = options["from_json"]
        try:
            results = (
                json.loads(saved.read_text())
                if saved
                else in_process.run(profiles, self.say, options["baseline"])
            )
        except StackError as error:
            raise CommandError(error) from None
        argv = sys.argv[2:] if sys.argv[1:2] == ["bench"] else ["--in-process"]
        results.setdefault("command", shlex.join(["python", "manage.py", "bench", *argv]))
        path = options["json"] or RESULTS / f"bench-in-process-{datetime.now():%Y%m%d-%H%M%S}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1) + "\n")
        self.stdout.write("\n" + in_process.markdown(results))
        self.stdout.write(f"Results written to {path}.")
        if options["write_docs"]:
            document = DOC.read_text()
            generated = in_process.markdown(results)
            DOC.write_text(
                report.replace_generated(document, generated, in_process.DOC_BEGIN, in_process.DOC_END)
            )
            self.stdout.write(f"Updated {DOC.relative_to(settings.BASE_DIR)}.")

    def say(self, text):
        self.stdout.write(text)
        self.stdout.flush()
