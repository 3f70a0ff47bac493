import functools
import inspect
import json
import os
import signal
from pathlib import Path

from django.core.management.base import CommandError

from shop.core.profiles import PROFILES, REGISTRY, profile
from tools.stack import control
from tools.stack.children import StackError
from tools.stack.command_line import StackCommand, add_shape_arguments
from tools.stack.hosts import NETWORK, can_make_hosts
from tools.stack.live import NOT_MIGRATABLE_REFUSED, SESSION_FALLBACKS_FILE
from tools.stack.nginx import BALANCES
from tools.stack.stack import DATABASES, DEFAULT_RUN_DIR, REDIS_MODES, Stack

# What another runstack process may ask the running one to change: Stack methods, each with a
# progress callback, returning what it did in words (control.py carries the request and the
# answer); also ``partition``, and the status, which the control socket answers itself.
LIVE_OPERATIONS = ("restart", "switch_profile", "rotate_secret_key")
MIGRATABLE = [p.name for p in REGISTRY.values() if p.migratable]

EPILOG = f"""\
environment:
  DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS pass through to every server as
  given. Without SECRET_KEY, one is generated once into RUN_DIR/secret_key (mode 600) and
  reused, so sessions survive a full stop and start. --db postgres replaces DATABASE_URL
  with a throwaway cluster's (created in a temporary folder, deleted at stop); the cache
  and cached_db profiles start a private redis-server (data in RUN_DIR/redis) unless
  REDIS_URL is set. GUNICORN_CMD_ARGS adds gunicorn options (config/gunicorn.conf.py).

hosts (--hosts, as root):
  every server and store runs on a simulated host of its own: a network namespace with its
  own address in {NETWORK} (a /24 per run folder) on a bridge runstack creates, and its own
  folder RUN_DIR/hosts/NAME for what a host keeps on disk (file sessions, temp files). nginx
  stays on 127.0.0.1:PORT. Every namespace, link and address is removed at stop, and a set
  left by a crashed runstack is removed at the next start from the same run folder.
  `--partition NAME` / `--heal NAME` (a host, or a server's or store's name) cut a host of
  the running stack off the network and restore it. With SQLite the database file is shared
  through this machine's disk; --db postgres puts PostgreSQL on a host of its own.

redis (--redis sentinel): a primary, two replicas and three Sentinels (on hosts of their own
  with --hosts); the servers reach the primary through Sentinel, so a failover needs no
  restart, and every session write waits until both replicas hold it (Redis's WAIT;
  SESSION_REDIS_REPLICAS_ACK=1 or 0 waits for fewer), so whichever replica Sentinel
  promotes holds it; while a replica is down, session writes answer 503. A dead member is
  started again as a replica: a replica or a Sentinel at once, the primary as a replica of
  the new one as soon as the Sentinels name it (after 30 s without one, the stack stops);
  until it holds the primary's data, Sentinel cannot promote it (replica-priority 0).
  The primary at stop (RUN_DIR/redis/primary) is the primary at the next start.

metrics (--metrics): Prometheus (RUN_DIR/prometheus: prometheus.yml, and data/, deleted at start
  and at stop) scrapes every server's /metrics and, through their exporters, Redis, nginx and
  PostgreSQL, each second; with --hosts it and the exporters run on a host of their own,
  `metrics`. The servers' /metrics answers on their own addresses only: nginx's port answers
  404. `--status` lists Prometheus (role prometheus: its HTTP API at the address and port) and
  the exporters (role exporter); /lab/ draws the last minutes from it. Every server keeps its
  workers' metrics in RUN_DIR/metrics/SERVER (emptied when the server starts), --metrics or not.

status: `--status` prints one JSON object about the stack running from --run-dir: profile,
  url and its parts (name, role, pid, host, address, port), roles as Sentinel sees them
  now; exit status 1 when no runstack runs there.

stopping and restarting:
  Ctrl-C, SIGTERM or SIGHUP stop nginx, then the servers, then the stores, and leave no
  process, pid file or port behind. A server that dies is reported and started again on
  its port while nginx serves from the others. A store that dies (Redis, PostgreSQL, a
  Sentinel) is started again on its port with its data, and the servers answer 503 with
  Retry-After until it answers. If nginx dies, everything stops and the command exits 1.

live operations (on the stack running from --run-dir; each waits until done, prints what
  the stack does and exits 0, or 1 with the reason):
  `--restart` (every server, one at a time) or `--restart server2` restarts servers while
  nginx keeps serving.
  `--switch-profile P` moves every server to profile P while it serves, in two rolling
  phases: first every server, one at a time, also reads P's store while still writing the
  old one; then every server, one at a time, writes P's store and reads the old one too.
  A shopper whose requests reach servers of both phases keeps the login and the cart. A
  session found in the old store moves to P's; the old store stays read until
  SESSION_COOKIE_AGE after the switch (its sessions have all expired by then), also across
  a full stop and start (RUN_DIR/{SESSION_FALLBACKS_FILE}). Works between any two of
  {", ".join(MIGRATABLE[:-1])} and {MIGRATABLE[-1]}
  (starting Redis when P needs it); from locmem it loses every session (each lives in one
  worker's memory), and to locmem it is refused.
  `--rotate-secret-key` gives every server a new SECRET_KEY in two rolling phases: first
  every server accepts the new key as a fallback, then every server signs with it (and,
  under encrypted_cookies, encrypts with a key derived from it) and accepts the old one
  until SESSION_COOKIE_AGE has passed. Not with SECRET_KEY in the environment.
  /lab/probe's key_id names the key each server signs with.

control socket: --status, --partition, --heal and the live operations are requests to the
  runstack running from --run-dir over RUN_DIR/{control.SOCKET}, a Unix socket that only a
  process able to read RUN_DIR/{control.KEY_FILE} (mode 600, new at every start) may use. It
  answers --status at once; everything else is carried out in turn by its main thread,
  which started the children, while its progress streams back. A socket file left by a
  killed runstack answers nothing ("no runstack is running") and is replaced at the next
  start; a stop removes both files.

run folder (default {DEFAULT_RUN_DIR}):
  nginx.conf (rendered from nginx/shop.conf.template), logs/access.log and logs/error.log
  (nginx), static/ (collectstatic, served by nginx), secret_key (mode 600) and
  secret_key.id (its public id, random), secret_key.previous (keys rotated out, still
  accepted; mode 600), stack.pid, status.json (what runs where, rewritten as parts start
  again), {control.SOCKET} and {control.KEY_FILE} (see above), and with --tls tls/cert.pem
  and tls/key.pem (made once with openssl, like secret_key; trust cert.pem in a client, or
  accept the browser's warning). nginx also answers GET /nginx/ping itself, for benchmarks
  without Django.
"""


class Command(StackCommand):
    epilog = EPILOG
    help = """\
Run the shop the way it is deployed, on this machine: collect static files and migrate,
start N gunicorn servers (SHOP_SERVER_NAME=server1..N, W sync workers each, on free
127.0.0.1 ports), and nginx in front of them on 127.0.0.1:PORT as the load balancer,
serving /static/ itself. Every server runs config.settings.<PROFILE>, so --profile alone
decides where sessions live (for SESSION_COOKIE_AGE after a --switch-profile to PROFILE, the
servers run config.settings.migrating, which also reads the earlier profile's store). Waits
until /healthz answers through nginx, prints the URL, and streams every child's output
prefixed with its name ([server1], [nginx], [redis])."""

    def add_arguments(self, parser):
        add_shape_arguments(parser)
        parser.add_argument(
            "--port",
            type=int,
            default=8000,
            help="nginx's port on 127.0.0.1; 0 picks a free one (default: 8000)",
        )
        parser.add_argument(
            "--balance",
            choices=BALANCES,
            default="round_robin",
            help="how nginx picks a server: round_robin (default); ip_hash (every local client is "
            "127.0.0.1, so all requests go to one server); sticky_cookie (hash of the session "
            "cookie, consistent)",
        )
        parser.add_argument(
            "--db",
            choices=DATABASES,
            default="sqlite",
            help="sqlite: DATABASE_URL as given (default: the SQLite file in the repo); "
            "postgres: a throwaway PostgreSQL cluster (default: sqlite)",
        )
        parser.add_argument(
            "--tls",
            action="store_true",
            help="serve HTTPS only on --port, with a self-signed certificate for "
            "127.0.0.1 and localhost (RUN_DIR/tls/cert.pem), and run the servers in "
            "hardened mode (SHOP_SECURE=1: secure __Host- cookies, HSTS, SSL "
            "redirect)",
        )
        parser.add_argument(
            "--hosts",
            action="store_true",
            help="every server and store on a simulated host of its own (see below)",
        )
        parser.add_argument(
            "--redis",
            choices=REDIS_MODES,
            default="single",
            help="single: one redis-server (default); sentinel: a primary, two replicas, three Sentinels",
        )
        parser.add_argument(
            "--metrics",
            action="store_true",
            help="also run Prometheus, scraping every server and store each second, and the Redis, nginx "
            "and PostgreSQL exporters of the parts the stack runs (see below)",
        )
        parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="the run folder, see below")
        parser.add_argument("--status", action="store_true", help="print the running stack's status as JSON")
        parser.add_argument(
            "--partition", metavar="NAME", help="cut host NAME of the running stack off the network"
        )
        parser.add_argument(
            "--heal", metavar="NAME", help="put host NAME of the running stack back on the network"
        )
        parser.add_argument(
            "--manage",
            dest="setup_commands",
            action="append",
            default=[],
            metavar="'COMMAND ARGS'",
            help="a manage.py command to run after migrate, before the servers start, "
            "with their settings and database, e.g. 'seed_catalog --if-empty'; "
            "repeatable; its output is shown",
        )
        parser.add_argument(
            "--restart",
            nargs="?",
            const="all",
            metavar="SERVER",
            help="do not start a stack: restart SERVER (or every server) of the one "
            "already running from --run-dir (see below)",
        )
        parser.add_argument(
            "--switch-profile",
            choices=PROFILES,
            metavar="PROFILE",
            help="do not start a stack: switch the one running from --run-dir to PROFILE "
            "while it serves, keeping every session (see below)",
        )
        parser.add_argument(
            "--rotate-secret-key",
            action="store_true",
            help="do not start a stack: give the one running from --run-dir a new SECRET_KEY "
            "while it serves, keeping every session (see below)",
        )

    def handle(self, *args, **options):
        run_dir = options["run_dir"]
        # A request to the runstack running from run_dir: its answer is what this command prints.
        if options["restart"]:
            server = None if options["restart"] == "all" else options["restart"]
            return self.style.SUCCESS(self.request(run_dir, {"action": "restart", "server": server}))
        if options["switch_profile"] and not profile(options["switch_profile"]).migratable:
            refused = NOT_MIGRATABLE_REFUSED.format(profile=options["switch_profile"])
            raise CommandError(f"--switch-profile {options['switch_profile']}: {refused}")
        if options["switch_profile"]:
            request = {"action": "switch_profile", "profile": options["switch_profile"]}
            return self.style.SUCCESS(self.request(run_dir, request))
        if options["rotate_secret_key"]:
            return self.style.SUCCESS(self.request(run_dir, {"action": "rotate_secret_key"}))
        if options["status"]:
            return json.dumps(self.request(run_dir, {"action": "status"}), indent=2)
        if options["partition"] or options["heal"]:
            name, healed = options["partition"] or options["heal"], not options["partition"]
            return self.request(run_dir, {"action": "partition", "name": name, "healed": healed})
        if options["hosts"] and not can_make_hosts():
            raise CommandError(
                "--hosts needs root (or CAP_NET_ADMIN) to create network namespaces", returncode=2
            )
        # The options that shape the stack are named (dest) as Stack's parameters.
        shape = {name: options[name] for name in inspect.signature(Stack).parameters if name in options}
        # While starting, a stop request interrupts the start, which stops what it started.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        signal.signal(signal.SIGHUP, signal.default_int_handler)
        try:
            stack = Stack(out=self.stdout, **shape).start()
        except StackError as error:
            raise CommandError(error) from None
        except KeyboardInterrupt:
            message = "interrupted while starting; everything started so far is stopped"
            raise CommandError(message, returncode=130) from None
        try:
            with control.ControlServer(stack.run_dir, {"status": stack.status}, stack.stopped) as server:
                self.stdout.write(
                    self.style.SUCCESS(f"Shop running at {stack.describe()}. Ctrl-C stops everything; ")
                    + "`manage.py runstack --restart [serverK]` restarts servers, `--switch-profile P` and "
                    + f"`--rotate-secret-key` change the running stack (runstack pid {os.getpid()})."
                )
                self.serve(stack, server)
        except StackError as error:
            raise CommandError(error) from None
        finally:
            stack.stop()  # already stopped, unless the control socket could not open
        if stack.failure:
            raise CommandError(f"the stack stopped because {stack.failure}")
        self.stdout.write("Stopped: no process of the stack is left.")

    def serve(self, stack, server):
        """Carry out what signals and other processes ask for until the stack has stopped, here in the
        main thread: it spawned the children, which get a parent-death signal when it exits."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda signum, frame: server.todo.put(signal.Signals(signum)))
        while (item := server.todo.get()) is not None:
            if isinstance(item, signal.Signals):
                stack.say(f"{item.name} received: stopping")
                stack.stop()
            else:
                reply = item.answer(functools.partial(self.live_operation, stack))
                stack.say(("" if reply["ok"] else "FAILED: ") + reply["answer"])

    def live_operation(self, stack, request, progress):
        def say(line):
            stack.say(line)
            progress(line)

        arguments = dict(request)
        operation = arguments.pop("action", None)
        if operation == "partition":
            return stack.partition(**arguments)
        if operation not in LIVE_OPERATIONS:
            raise StackError(f"unknown request {request!r}")
        return getattr(stack, operation)(**arguments, progress=say)

    def request(self, run_dir, request):
        """Ask the runstack of ``run_dir`` for ``request``; print its progress; return its answer."""
        try:
            reply = control.ask(run_dir, request, self.stdout.write)
        except StackError as error:
            raise CommandError(error) from None
        if not reply["ok"]:
            raise CommandError(reply["answer"])
        return reply["answer"]
