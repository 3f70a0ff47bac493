"""One soak: a stack started as runstack starts it, shoppers on it, the seeded faults, the checker.

The stack runs from its own run folder (emptied first) on a database of its own there (SQLite) or a
throwaway PostgreSQL cluster, with a seeded catalog. The faults run in this thread, which started
the stack and so outlives every process a fault starts again (children get a parent-death signal
when the thread that started them ends); the shoppers shop in threads of their own.
"""

import random
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings

from shop.core.profiles import profile as profile_named
from tools.client import Browser, products_for_sale
from tools.stack.children import StackError
from tools.stack.stack import DEFAULT_RUN_DIR, Stack, stack_pid

from .checker import check
from .database import snapshot
from .faults import KINDS, left_out, supported, whole
from .history import History
from .schedule import plan
from .series import sample
from .shoppers import SoakShopper

RESULTS_DIR = settings.SHOP_LAB_RESULTS_DIR
DEFAULT_SOAK_DIR = DEFAULT_RUN_DIR / "soak"
SEED_CATALOG = "seed_catalog --products 40 --if-empty"
PRODUCTS, MIN_STOCK = 12, 20  # the shoppers shop from this many products with this much stock
SETTLE = 45  # seconds the stack may take to heal after the last fault, before the last look
# --unsafe: no per-session lock, no WAIT for a Redis replica (and the switch is naive, faults.py).
UNSAFE_ENV = {"SHOP_SESSION_LOCKS": "0", "SESSION_REDIS_REPLICAS_ACK": "0"}


class SoakAborted(RuntimeError):
    """The stack stopped itself (a store died, say): the soak cannot go on."""


@dataclass
class Options:
    profile: str = "db"
    servers: int = 3
    workers: int = 2
    hosts: bool = False
    redis: str = "single"
    db: str = "sqlite"
    shoppers: int = 6
    duration: float = 60.0
    seed: int = 1
    faults: list | None = None  # kind names; None: every kind this stack supports
    every: tuple = (5.0, 9.0)
    unsafe: bool = False
    run_dir: Path = DEFAULT_SOAK_DIR
    output: Path = RESULTS_DIR
    kinds: list = field(init=False)

    def __post_init__(self):
        self.kinds = supported(self) if self.faults is None else list(self.faults)

    @property
    def command(self):
        """The command that reproduces this soak, every option spelled out."""
        shape = f"--servers {self.servers} --workers {self.workers} --redis {self.redis} --db {self.db}"
        return (
            f"python manage.py soak --profile {self.profile} {shape}{' --hosts' if self.hosts else ''} "
            f"--shoppers {self.shoppers} --duration {self.duration:g} --seed {self.seed} "
            f"--faults {','.join(self.kinds) or 'none'} --every {self.every[0]:g}-{self.every[1]:g}"
            + (" --unsafe" if self.unsafe else "")
        )

    @property
    def shares_sessions(self):
        """Whether every server of this stack reads every session (else logouts are expected)."""
        facts = profile_named(self.profile)
        return facts.across_servers and (facts.across_hosts or not self.hosts)


class Soak:
    def __init__(self, options, out):
        self.options, self.out = options, out
        self.profile = options.profile  # the servers' profile now (switch_profile changes it)
        self.stack = None
        self.stacks = []  # what each stack started was, in words
        self.log = None

    def say(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    # The stack ---------------------------------------------------------------------------
    def prepare_run_dir(self):
        run_dir = Path(self.options.run_dir).resolve()
        if owner := stack_pid(run_dir):
            raise StackError(
                f"a stack (pid {owner}) runs from {run_dir}; stop it or choose another --run-dir"
            )
        shutil.rmtree(run_dir, ignore_errors=True)  # a fresh catalog, Redis and key for every soak
        run_dir.mkdir(parents=True)
        return run_dir

    def start_stack(self, port=0):
        options = self.options
        env = dict(UNSAFE_ENV) if options.unsafe else {}
        if options.db == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{Path(options.run_dir).resolve() / 'shop.sqlite3'}"
        stack = Stack(
            profile=self.profile,
            servers=options.servers,
            workers=options.workers,
            port=port,
            db=options.db,
            run_dir=options.run_dir,
            env=env,
            setup_commands=[SEED_CATALOG],
            out=self.log,
            hosts=options.hosts,
            redis=options.redis,
        )
        stack.start()
        self.stacks.append(stack.describe())
        return stack

    def servers(self):
        """The stack's servers now (the stop_start fault starts a new stack)."""
        return self.stack.servers

    def stop_and_start(self, hold):
        """The stop_start fault: the whole stack stopped, and started again on the same port from
        the same run folder (its key, Redis data and database), so shoppers keep their cookies."""
        port = self.stack.port
        self.stack.stop()
        time.sleep(hold)
        started = time.monotonic()
        self.stack = self.start_stack(port)
        return f"stopped for {hold:.1f} s, then started again in {time.monotonic() - started:.1f} s"

    # The soak ------------------------------------------------------------------------------
    def run(self):
        """The soak from start to stop: (history, database snapshot, verdicts)."""
        run_dir = self.prepare_run_dir()
        with open(run_dir / "stack.log", "a") as self.log:
            try:
                self.say(f"starting the stack ({self.options.profile}); its log: {run_dir / 'stack.log'}")
                self.stack = self.start_stack()
                self.say(f"  {self.stack.describe()}")
                return self.soak()
            finally:
                if self.stack:
                    self.stack.stop()

    def new_history(self, planned):
        options = self.options
        return History(
            command=options.command,
            seed=options.seed,
            started=datetime.now().astimezone().isoformat(timespec="seconds"),
            profile={"name": options.profile, "shared": options.shares_sessions},
            setup={
                "servers": options.servers,
                "workers": options.workers,
                "hosts": options.hosts,
                "redis": options.redis,
                "db": options.db,
                "shoppers": options.shoppers,
                "duration": options.duration,
                "every": list(options.every),
                "unsafe": options.unsafe,
            },
            left_out=left_out(options),
            initial_stock=snapshot(self.stack)["stock"],
            schedule=[p.as_json() for p in planned],
            stacks=self.stacks,
        )

    def soak(self):
        options = self.options
        with Browser(self.stack.url) as browser:
            products = products_for_sale(browser, PRODUCTS, MIN_STOCK)
        targets = {kind: KINDS[kind].targets(options) for kind in options.kinds}
        planned = plan(options.seed, options.kinds, targets, options.duration, options.every)
        history = self.new_history(planned)
        shoppers = [
            SoakShopper(f"s{k}", self.stack.url, history, products, random.Random(f"{options.seed}-s{k}"))
            for k in range(1, options.shoppers + 1)
        ]
        history.meta["users"] = {shopper.name: shopper.username for shopper in shoppers}
        self.say(f"{len(shoppers)} shoppers, {options.duration:g} s, {len(planned)} faults planned")
        stop, done = threading.Event(), threading.Event()
        threads = [threading.Thread(target=s.shop, args=(stop,), name=s.name) for s in shoppers]
        threads.append(threading.Thread(target=self.watch_healing, args=(history, done), name="healing"))
        threads.append(threading.Thread(target=sample, args=(history, self.servers, done), name="metrics"))
        for thread in threads:
            thread.start()
        try:
            self.run_faults(history, planned)
            stop.set()
            self.last_look(history, shoppers, threads[: len(shoppers)])
        except SoakAborted as error:
            history.meta["aborted"] = str(error)
            self.say(f"ABORTED: {error}")
        finally:
            stop.set()
            done.set()
            for thread in threads:
                thread.join(60)
            for shopper in shoppers:
                shopper.close()
        history.meta["incidents"] = [incident for shopper in shoppers for incident in shopper.incidents]
        database = snapshot(self.stack)
        record = history.as_json()
        return record, database, check(record, database)

    def last_look(self, history, shoppers, threads):
        """Once the shoppers are done and the stack is whole again (or SETTLE seconds have passed),
        every shopper looks at their cart and orders once more."""
        for thread in threads:
            thread.join(60)
        deadline = history.now() + SETTLE
        while any(f["healed"] is None for f in history.faults) and history.now() < deadline:
            self.wait(history, history.now() + 0.5)
        for shopper in shoppers:
            shopper.last_look()

    def run_faults(self, history, planned):
        """Each planned fault, its gap after the one before it ended; then shopping until the
        duration is over, if it is not yet."""
        for fault in planned:
            self.wait(history, history.now() + fault.gap)
            record = history.fault(fault.kind, fault.target)
            try:
                record["note"] = KINDS[fault.kind].inject(self, fault.target, fault.hold) or ""
            except Exception as error:  # the stack refused or failed: a finding, recorded
                record["ok"], record["note"] = False, f"{type(error).__name__}: {error}"
            record["end"] = history.now()
            self.say(f"  {record['start']:6.1f} s  {fault.kind} {fault.target or ''}: {record['note']}")
        self.wait(history, self.options.duration)

    def wait(self, history, until):
        while history.now() < until:
            if self.stack.stopped.is_set():
                raise SoakAborted(f"the stack stopped: {self.stack.failure or 'why is in its log'}")
            time.sleep(min(0.2, max(until - history.now(), 0)))

    def watch_healing(self, history, done):
        """Until ``done``: note when the stack is whole again after each fault that has ended."""
        while not done.wait(0.5):
            waiting = [f for f in history.faults if f["end"] is not None and f["healed"] is None]
            if waiting and whole(self.stack):
                for fault in waiting:
                    fault["healed"] = history.now()
