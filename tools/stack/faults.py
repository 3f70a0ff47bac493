"""Faults the lab and the tests inflict on a running stack: a crash, a store outage, a cut network."""

import contextlib
import signal

from .children import StackError
from .hosts import set_link, set_route


class Faults:
    """Mixed into ``Stack``: break a part on purpose; the stack's supervisor sees the result."""

    def kill(self, server, sig=signal.SIGKILL):
        """Send ``sig`` to every process of one server, as a crash would; the monitor restarts it."""
        self.server(server).child.signal(sig, group=True)

    @contextlib.contextmanager
    def store_outage(self, store):
        """Stop ``store`` (a RedisServer of ``stores``) for the block, then start it again.

        The servers see the outage; the monitor, which stops the stack when a store dies, waits
        for the block to end. A RedisServer comes back on its port with the data in its folder.
        """
        with self._lock:
            if self._stopping:
                raise StackError("the stack is stopping")
            store.stop()
            try:
                yield store
            finally:
                store.start()

    def host(self, name):
        """The simulated host of a server or store (by its name), or a host by its own name."""
        if not self.network:
            raise StackError(f"the stack running from {self.run_dir} has no hosts: it runs without --hosts")
        parts = {part.name: part.host for part in [*self.servers, *self.stores, *self.monitors]}
        host = parts.get(name) or self.network.hosts.get(name)
        if host is None:
            names = ", ".join(sorted({*self.network.hosts, *parts}))
            raise StackError(f"no host or part {name!r}; this stack has {names}")
        return host

    def partition(self, name, healed=False):
        """Cut the host of ``name`` off the network (``healed=True``: put it back); says so, in words."""
        host = self.host(name)
        set_link(host, up=healed)
        return f"{host.name} ({host.address}) is {'back on' if healed else 'cut off'} the network"

    def cut_route(self, name, address, healed=False):
        """Cut the host of ``name`` off ``address`` only (a store, say), or restore the route."""
        set_route(self.host(name), address, up=healed)
