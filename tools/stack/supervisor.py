"""The stack's supervisor: a thread that starts again what dies and follows the servers' readiness."""

import time

from .services import RedisSentinel, RedisServer

# A server that dies this many times in a row before ever answering /healthz is broken (an
# import error, say): restarting it forever would hide that. Killing a serving one is not.
CRASH_LIMIT = 3
READINESS_INTERVAL = 1.0  # seconds between /readyz checks of every server
# The Sentinels fail over within a few seconds (down-after 1 s, failover-timeout 3 s): a dead
# primary that none of them has replaced after this long will not be.
FAILOVER_TIMEOUT = 30.0


class Supervision:
    """Mixed into ``Stack``: ``_watch`` runs in the stack-monitor thread from start to stop."""

    def _watch(self):
        """Restart servers and stores that die (stores with their data; the servers answer 503 while
        one is down); stop everything if nginx dies; keep servers that cannot reach their stores out
        of rotation."""
        last_readiness = 0
        while not self._stopping:
            time.sleep(0.2)
            if time.monotonic() - last_readiness > READINESS_INTERVAL:
                last_readiness = time.monotonic()
                self._check_readiness()
            try:
                with self._lock:
                    failure = None if self._stopping else self._check_children()
            except Exception as error:  # a failed respawn, say: stop rather than stop watching
                failure = f"the stack's monitor failed: {error!r}"
            if failure:
                self.failure = failure
                self.say(f"FATAL: {failure}; stopping the stack")
                self.stop()
            for server in self.servers:
                back = not (server.serving or server.restarting or self._stopping)
                if back and server.answers():
                    server.serving = True
                    self.say(f"{server.name} is serving again (pid {server.pid})")
        # Servers this thread restarted die with it (parent-death signal): outlive them.
        self.stopped.wait()

    def _check_children(self):
        if self.nginx.exit_code is not None:
            return f"nginx exited unexpectedly ({self.nginx.describe_exit()})"
        for store in self.stores:
            if store.child.exit_code is None:
                self._dead_since.pop(store, None)
                continue
            if self.redis == "single" or not isinstance(store, RedisServer):
                self._revive(store)
            elif failure := self._revive_group_member(store):
                return failure
        self._promotable_once_in_sync()
        for monitor in self.monitors:  # Prometheus or an exporter
            if monitor.child.exit_code is not None:
                self._revive(monitor)
        for server in self.servers:
            if server.restarting or server.child.exit_code is None:
                continue
            server.failed_starts = 0 if server.serving else server.failed_starts + 1
            if server.failed_starts >= CRASH_LIMIT:
                return f"{server.name} died {CRASH_LIMIT} times before serving:\n{server.child.tail()}"
            self.say(
                f"{server.name} (pid {server.pid}) died unexpectedly ({server.child.describe_exit()}); "
                f"nginx serves from the others while it starts again on port {server.port}"
            )
            server.child.stop()
            server.start()
            self.write_status()
        return None

    def _revive_group_member(self, store):
        """A Redis group survives a member: start a dead one again once that cannot make a second
        primary, and Sentinel makes it a replica of the primary. A Sentinel (never a primary) or a
        replica comes back at once; a primary once every Sentinel that answers names another."""
        died = self._dead_since.setdefault(store, time.monotonic())
        if not isinstance(store, RedisSentinel):
            sentinels = [s for s in self.stores if isinstance(s, RedisSentinel)]
            named = {RedisSentinel.ask_primary(s.address, s.port) for s in sentinels} - {None}
            if len(named) != 1 or (store.address, store.port) in named:
                waited = time.monotonic() - died
                if waited < FAILOVER_TIMEOUT:
                    return None
                return f"{store.name} died, and in {waited:.0f} s the Sentinels named no other primary"
            # As a replica of the primary they name, never as a primary of its own old data: a
            # restarted primary would serve that data (until Sentinel demotes it, seconds later),
            # and a second failover in that window could promote it, losing every write since.
            # It starts empty: its own data is older than the primary's, and not only by what
            # came since it died. Killed, it lost up to a second of writes its append-only file had
            # not yet written, and back with a replication offset past them, it would resume from
            # that offset and never get them (a soak killing the primary every 6-10 s lost
            # acknowledged lines so). Nor may Sentinel promote it before it holds the primary's
            # data (the others would resync from it): it starts with replica-priority 0, and
            # ``_promotable_once_in_sync`` lifts that.
            store.forget_data()
            store.follow(named.pop(), promotable=False)
            self._catching_up.add(store)
        del self._dead_since[store]
        self._revive(store)
        return None

    def _promotable_once_in_sync(self):
        for store in list(self._catching_up):
            if store.child.exit_code is None and store.in_sync():
                store.make_promotable()
                self._catching_up.discard(store)
                self.say(f"{store.name} holds the primary's data: Sentinel may promote it again")

    def _revive(self, store):
        """Start a dead store again on its port, with the data in its folder (Redis's append-only
        file, PostgreSQL's cluster); the servers answer 503 until it answers."""
        self.say(f"{store.name} died ({store.child.describe_exit()}); starting it again with its data")
        store.child.stop()
        store.child.start()
        self.write_status()

    def _check_readiness(self):
        """Servers alive but unable to reach their stores leave nginx's rotation while others can
        serve; when none can (the store every server shares is down), all stay and say 503."""
        candidates = [s for s in self.servers if s.serving and not s.restarting and not s.draining]
        reach = {server.name for server in candidates if server.is_ready()}
        # Decided on the flags as they are now, under the lock restart() drains a server under: one
        # it took out while /readyz was asked must not leave the others all out.
        with self._nginx_lock:
            candidates = [s for s in candidates if not (s.restarting or s.draining)]
            ready = (reach & {s.name for s in candidates}) or {s.name for s in candidates}
            changed = [server for server in candidates if (server.name in ready) != server.ready]
            for server in changed:
                server.ready = server.name in ready
                news = (
                    "reaches its stores again: back in" if server.ready else "cannot reach its stores: out of"
                )
                self.say(f"{server.name} {news} nginx's rotation")
            if changed and not self._stopping:
                self._reload_nginx("to follow the servers' readiness")
