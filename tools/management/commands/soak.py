import argparse
from pathlib import Path

from django.core.management.base import CommandError

from tools.soak.checker import check
from tools.soak.faults import KINDS
from tools.soak.history import load
from tools.soak.report import summary, write
from tools.soak.run import DEFAULT_SOAK_DIR, RESULTS_DIR, Options, Soak
from tools.soak.schedule import parse_every
from tools.stack.children import StackError, find_binary
from tools.stack.command_line import StackCommand, add_shape_arguments
from tools.stack.hosts import can_make_hosts
from tools.stack.stack import DATABASES, REDIS_MODES, required_programs

KIND_LIST = "\n".join(f"  {name:<20}{kind.title}" for name, kind in KINDS.items())
EPILOG = f"""\
fault kinds (--faults; default: every kind the stack supports, the others are named with why):
{KIND_LIST}

what the shoppers do: sign up or in, browse, add to the cart, add two products from two tabs at
  once, change a line's quantity, remove a line, check out (sending the same form again while no
  answer comes back), look at their orders, sign out and in, and end a phone's session from the
  device list. Every request is recorded: start, end, answer or no answer.

the checker reads the history and the database afterwards: acknowledged cart changes lost (a
  later successful read of the same session lacks them), unexpected logouts, acknowledged orders
  missing, a checkout form that made two orders, orders never confirmed (and whether the order
  list shows them), stock conservation, answers >= 500 other than 503 with Retry-After by path,
  and per fault the longest unavailable window and the share of requests unavailable.

--unsafe runs the same soak without the per-session lock (SHOP_SESSION_LOCKS=0), without WAIT
  for a Redis replica (SESSION_REDIS_REPLICAS_ACK=0), and with a naive profile switch (every server
  restarted with the other profile's settings): the checker should find losses.

output: OUTPUT/soak-<time>.json (the history, the database snapshot and the verdicts) and
  OUTPUT/soak-<time>.html (a timeline; under it the lab's four graphs, from every server's /metrics
  read once a second; the verdicts), copied to soak-latest.html, which /lab/soak/ serves. Exit
  status 1 when a verdict about data fails (a lost cart change, a logout, a missing or doubled
  order, stock not conserved), else 0.
"""


def every(text):
    try:
        return parse_every(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class Command(StackCommand):
    epilog = EPILOG
    help = (
        "Soak the shop: start a stack as runstack does (in its own run folder, on a fresh database), "
        "let --shoppers shoppers shop for --duration seconds while a seeded schedule of faults hits "
        "it, stop everything, and check what the shop acknowledged against what it kept."
    )

    def add_arguments(self, parser):
        add_shape_arguments(parser)
        parser.add_argument(
            "--hosts",
            action="store_true",
            help="every server and store on a simulated host of its own (root)",
        )
        parser.add_argument(
            "--redis", choices=REDIS_MODES, default="single", help="single (default) or sentinel, as runstack"
        )
        parser.add_argument(
            "--db",
            choices=DATABASES,
            default="sqlite",
            help="sqlite: a fresh file in the run folder; postgres: a throwaway cluster (default: sqlite)",
        )
        parser.add_argument("--shoppers", type=int, default=6, help="concurrent shoppers (default: 6)")
        parser.add_argument(
            "--duration",
            type=float,
            default=60,
            help="seconds the shoppers shop at least; faults come while their gaps add up to less, and "
            "every kind at least once, so slow faults (restarts) make a soak longer (default: 60)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help="seeds the fault schedule and the shoppers' choices (default: 1)",
        )
        parser.add_argument(
            "--faults",
            help="comma-separated fault kinds (see below), or 'none' (default: every kind the stack "
            "supports); each comes at least once",
        )
        parser.add_argument(
            "--every",
            type=every,
            default=(5.0, 9.0),
            metavar="MIN-MAX",
            help="seconds from the end of one fault to the start of the next, drawn from MIN to MAX "
            "(default: 5-9)",
        )
        parser.add_argument(
            "--unsafe",
            action="store_true",
            help="no per-session lock, no WAIT for a Redis replica, a naive profile switch (see below)",
        )
        parser.add_argument(
            "--run-dir",
            type=Path,
            default=DEFAULT_SOAK_DIR,
            help=f"the stack's run folder, emptied first (default: {DEFAULT_SOAK_DIR})",
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=RESULTS_DIR,
            help=f"folder for the reports (default: {RESULTS_DIR})",
        )
        parser.add_argument(
            "--check",
            type=Path,
            metavar="JSON",
            help="do not soak: run the checker again over a soak's JSON (its history and database "
            "snapshot), print the verdicts, exit as the soak would",
        )

    def handle(self, *args, **options):
        if options["check"]:
            return self.check_again(options["check"])
        if options["servers"] < 1 or options["workers"] < 1 or options["shoppers"] < 1:
            raise CommandError("--servers, --workers and --shoppers must be at least 1")
        if options["duration"] <= 0:
            raise CommandError("--duration must be more than 0 seconds")
        if options["hosts"] and not can_make_hosts():
            raise CommandError("--hosts needs root (or CAP_NET_ADMIN) to create network namespaces")
        missing = [p for p in required_programs([options["profile"]], options["db"]) if not find_binary(p)]
        if missing:
            raise CommandError(f"{', '.join(missing)} not found (make system-deps installs them)")
        soak_options = Options(
            **{key: options[key] for key in ("profile", "servers", "workers", "hosts", "redis", "db")},
            **{key: options[key] for key in ("shoppers", "duration", "seed", "every", "unsafe", "run_dir")},
            output=options["output"],
            faults=self.faults(options["faults"]),
        )
        self.check_faults(soak_options)
        self.stdout.write(soak_options.command)
        try:
            history, database, verdicts = Soak(soak_options, self.stdout).run()
        except StackError as error:
            raise CommandError(error) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted: every process of the stack is stopped", returncode=130) from None
        paths = write(history, database, verdicts, soak_options.output)
        self.verdicts(history, database, verdicts)
        self.stdout.write(f"\nHistory: {paths['json']}\nReport:  {paths['html']} (served at /lab/soak/)")
        self.exit_status(history, database, verdicts)

    def check_again(self, path):
        try:
            document = load(path)
        except (OSError, ValueError) as error:
            raise CommandError(error) from None
        verdicts = check(document, document["database"])
        self.stdout.write(document["command"])
        self.verdicts(document, document["database"], verdicts)
        self.exit_status(document, document["database"], verdicts)

    def verdicts(self, history, database, verdicts):
        self.stdout.write(summary(history, database, verdicts)[0])

    @staticmethod
    def exit_status(history, database, verdicts):
        lost = summary(history, database, verdicts)[1]
        if lost:
            raise CommandError(f"the checker found {lost}", returncode=1)

    @staticmethod
    def faults(text):
        if text is None:
            return None
        names = [name.strip() for name in text.split(",") if name.strip() and name.strip() != "none"]
        unknown = [name for name in names if name not in KINDS]
        if unknown:
            raise CommandError(f"unknown fault kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
        return names

    @staticmethod
    def check_faults(options):
        refused = {name: KINDS[name].unsupported(options) for name in options.kinds}
        refused = {name: why for name, why in refused.items() if why}
        if refused:
            reasons = "; ".join(f"{name}: {why}" for name, why in refused.items())
            raise CommandError(f"this stack cannot take every fault asked for: {reasons}")
