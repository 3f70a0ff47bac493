from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.core.profiles import PROFILES
from tools.experiments.matrix import DEFAULT_RUN_ROOT, RESULTS_DIR, Options, run_lab
from tools.experiments.scenarios import SCENARIOS, select
from tools.stack.children import find_binary
from tools.stack.stack import DATABASES, required_programs

SCENARIO_LIST = "; ".join(f"{s.number} {s.key}: {s.question}" for s in SCENARIOS)


class Command(BaseCommand):
    help = (
        "The session lab's experiment matrix. For each session profile, start the real stack (nginx "
        "and gunicorn servers, Redis when needed), drive a scripted shopper through nginx and measure "
        "whether the session survives each scenario. Prints a line per scenario and the matrix, and "
        "writes JSON and a self-contained HTML report (results/latest.html, linked from /lab/). "
        f"Scenarios: {SCENARIO_LIST}."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--profiles",
            default=",".join(PROFILES),
            help=f"comma-separated profiles (default: all: {','.join(PROFILES)})",
        )
        parser.add_argument(
            "--scenarios",
            default="all",
            help="comma-separated numbers or keys, e.g. 1,3 or round_robin,kill (default: all)",
        )
        parser.add_argument("--servers", type=int, default=3, help="gunicorn servers per stack (default: 3)")
        parser.add_argument("--workers", type=int, default=2, help="workers per server (default: 2)")
        parser.add_argument("--probes", type=int, help="probes per measurement (default: 24; --quick 12)")
        parser.add_argument("--trials", type=int, help="concurrent-write trials (default: 5; --quick 3)")
        parser.add_argument(
            "--db",
            choices=DATABASES,
            default="sqlite",
            help="sqlite: a fresh lab database in the run folder; postgres: a throwaway "
            "cluster per stack (default: sqlite)",
        )
        parser.add_argument(
            "--quick",
            action="store_true",
            help="fewer probes, trials and sticky variants: a cell in seconds, less evidence",
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=RESULTS_DIR,
            help=f"folder for the reports (default: {RESULTS_DIR})",
        )
        parser.add_argument(
            "--run-dir",
            type=Path,
            default=DEFAULT_RUN_ROOT,
            help=f"folder for the stacks' run folders and logs (default: {DEFAULT_RUN_ROOT})",
        )

    def handle(self, *args, **options):
        profiles = [p.strip() for p in options["profiles"].split(",") if p.strip()]
        unknown = [p for p in profiles if p not in PROFILES]
        if unknown or not profiles:
            raise CommandError(f"unknown profile(s) {', '.join(unknown)}; choose from {', '.join(PROFILES)}")
        try:
            scenarios = select(options["scenarios"])
        except ValueError as error:
            raise CommandError(error) from None
        if options["servers"] < 1 or options["workers"] < 1:
            raise CommandError("--servers and --workers must be at least 1")
        missing = [name for name in required_programs(profiles, options["db"]) if not find_binary(name)]
        if missing:
            raise CommandError(
                f"{', '.join(missing)} not found: the lab runs the real programs "
                "(make system-deps installs them)"
            )
        quick = options["quick"]
        lab_options = Options(
            profiles=[p for p in PROFILES if p in profiles],
            scenarios=scenarios,
            servers=options["servers"],
            workers=options["workers"],
            probes=options["probes"] or (12 if quick else 24),
            trials=options["trials"] or (3 if quick else 5),
            db=options["db"],
            quick=quick,
            run_root=options["run_dir"],
        )
        self.stdout.write(f"{lab_options.command}\n")
        try:
            run_lab(lab_options, self.stdout, options["output"])
        except KeyboardInterrupt:
            raise CommandError(
                "interrupted: every stack is stopped; the cells measured so far are written", returncode=130
            ) from None
