"""nginx's rotation: which servers it sends requests to, and restarts that drain a server first."""

import signal

from .children import StackError, wait_until
from .nginx import render_config


class Rotation:
    """Mixed into ``Stack``: render nginx.conf for the servers' states, reload nginx gracefully, and
    restart servers one at a time, each out of the rotation while it restarts."""

    def restart(self, server=None, env=None, progress=None):
        """Restart one server, or all of them one at a time; nginx serves from the others. Returns
        what it did, in words (``progress``, default ``say``, hears each server's restart).

        ``env`` changes variables of the restarted servers from then on, as a rolling deploy of
        new settings would (a new SECRET_KEY, say); ``self.env`` keeps the start's values. A new
        SECRET_KEY without its SHOP_SECRET_KEY_ID gets the id the run folder knows it by, if any.
        Call it from a thread that lives as long as the stack (see ``children.command``).
        """
        say = progress or self.say
        env = dict(env or {})
        if env.get("SECRET_KEY") and "SHOP_SECRET_KEY_ID" not in env:
            env["SHOP_SECRET_KEY_ID"] = self.keys.id_of(env["SECRET_KEY"])
        targets = self.servers if server is None else [self.server(server)]
        for target in targets:
            with self._lock:
                if self._stopping:
                    raise StackError("the stack is stopping")
                target.restarting = True
            try:
                self._drain(target)
                old_pid = target.pid
                target.child.stop()
                target.update_env(env)
                target.start()
                target.wait_serving()
                say(f"{target.name} restarted (pid {old_pid} -> {target.pid})")
                self.write_status()
            finally:
                target.restarting = False
                if not self._stopping:
                    self._rotate(target, serving=True)
        return f"Restarted {', '.join(target.name for target in targets)}."

    def _drain(self, target):
        """Take ``target`` out of nginx's rotation once another server answers and is in it, so nginx
        keeps a live server. One killed a moment before (starting again), paused, or out of rotation
        because it cannot reach its stores does not count: with only ``target`` and it, nginx would
        answer 502 until ``target`` is back. The flags are read and set under the nginx lock, which
        the readiness check decides under too, so it cannot take that other server out meanwhile
        (with ``target`` draining, it keeps the last server in). A stack of one server cannot help it.
        """
        others = [server for server in self.servers if server is not target]

        def in_rotation(server):
            return server.ready and not (server.draining or server.restarting)

        while others:
            what = f"waiting for a server other than {target.name} to serve"
            wait_until(lambda: any(in_rotation(s) and s.answers() for s in others), 60, what)
            with self._nginx_lock:
                if any(map(in_rotation, others)):
                    self._rotate(target, serving=False)
                    return
        self._rotate(target, serving=False)

    def _rotate(self, server, serving):
        """Take ``server`` out of nginx's rotation (or put it back), and wait until nginx has.

        A graceful stop is not enough on its own: gunicorn's workers stop accepting, and when the
        last one exits the kernel resets the connections nginx had already queued on the port.
        nginx may not pass those requests to another server (a POST may have been processed), so
        each would be a 502. Out of rotation first, nothing is queued there when it stops. nginx
        reloads gracefully: its old workers finish the requests they sent before they exit.
        """
        with self._nginx_lock:
            server.draining = not serving
            self._reload_nginx(f"to take {server.name} {'into' if serving else 'out of'} rotation")

    def _reload_nginx(self, why):
        """Render nginx.conf for the servers' current states; wait until no old nginx worker is left."""
        with self._nginx_lock:
            old_workers = set(self.nginx.pids()) - {self.nginx.pid}
            self._render_nginx()
            self.nginx.signal(signal.SIGHUP)
            wait_until(
                lambda: not old_workers & set(self.nginx.pids()), 45, f"waiting for nginx {why}", self.nginx
            )

    def _render_nginx(self):
        tls = (self.certificate, self._tls_key) if self.tls else None
        render_config(self.run_dir, self.port, self.servers, self.balance, tls, self.nginx_status)
