"""The stack's child processes: started in their own session, output prefixed, stopped for sure.

Each child leads its own process group, so a terminal's Ctrl-C reaches only runstack, which
then stops the children in order; and a child that left processes behind (a gunicorn master
killed before its workers) can be cleaned up as a group.
"""

import collections
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path


class StackError(RuntimeError):
    """The stack cannot start or keep running; the message says why and what to do."""


def find_binary(name, needed=None):
    """The path of program ``name``, or None; a StackError instead if it is ``needed`` (for what).

    Debian keeps nginx in /usr/sbin (not on a normal user's PATH) and PostgreSQL per version.
    """
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        versions = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
        found = max(versions, key=_version_key, default=None)
    if found is None and needed:
        raise StackError(f"{name} is needed {needed} but was not found; install it (make system-deps)")
    return found


def _version_key(path):
    version = path.split("/")[4]
    return int(version) if version.isdigit() else 0


def free_ports(count):
    """``count`` distinct free ports: all are held open until every one has been chosen."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port):
    with socket.socket() as sock:
        # Servers set SO_REUSEADDR too, so a port in TIME_WAIT is free for them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_is_listening(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def process_group(pgid):
    """Pids of the live processes in a process group (Linux /proc)."""
    pids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError):  # the process has just exited
            # After the command name: state, ppid, pgrp. Zombies hold no resources.
            state, _, group = Path(stat).read_text().rsplit(")", 1)[1].split()[:3]
            if int(group) == pgid and state != "Z":
                pids.append(int(stat.split("/")[2]))
    return sorted(pids)


def wait_until(ready, timeout, what, child=None, interval=0.02):
    """Poll ``ready()`` until true and return the seconds it took; fail early if ``child`` exits
    while we wait, and with ``what`` in the message after ``timeout`` seconds."""
    started = time.monotonic()
    deadline = started + timeout
    while not ready():
        if child is not None and child.exit_code is not None:
            raise StackError(f"{child.name} exited ({child.describe_exit()}) while {what}:\n{child.tail()}")
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout:.0f}s {what}")
        time.sleep(interval)
    return time.monotonic() - started


def command(argv, run_as=None, death_signal=signal.SIGTERM):
    """Wrap ``argv`` in setpriv: run as ``run_as`` and get ``death_signal`` when our process dies.

    The parent-death signal is the safety net if runstack itself is killed with SIGKILL. The
    kernel sends it when the spawning *thread* exits, so spawn only from long-lived threads.
    setpriv sets it after changing user (a uid change would clear it).
    """
    setpriv = find_binary("setpriv")
    if setpriv is None:
        if run_as:
            raise StackError(f"setpriv (util-linux) is needed to run {argv[0]} as {run_as}")
        return argv
    user = [f"--reuid={run_as}", f"--regid={run_as}", "--init-groups"] if run_as else []
    signal_name = signal.Signals(death_signal).name.removeprefix("SIG")
    return [setpriv, *user, f"--pdeathsig={signal_name}", "--", *argv]


class Console:
    """One line per message, prefixed by who said it; shared by the stack and its children."""

    def __init__(self, stream):
        self.stream = stream
        self._lock = threading.Lock()

    def line(self, who, text):
        with self._lock:
            try:
                self.stream.write(f"[{who}] {text}\n")
                self.stream.flush()
            except (OSError, ValueError):
                # The reader is gone (a closed pipe or file). Keep draining the children's
                # output anyway: a child blocked on a full pipe would stop serving.
                pass


@dataclass(eq=False, repr=False)  # identity, and no repr: env holds the SECRET_KEY
class Child:
    """One supervised process (and its process group). ``host``: a ``hosts.Host`` whose network
    namespace the process runs in (``--hosts``)."""

    name: str
    argv: list
    console: Console
    _: KW_ONLY
    env: dict | None = None
    cwd: str | None = None
    run_as: str | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    host: object = None
    popen: subprocess.Popen | None = field(default=None, init=False)
    _recent: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20), init=False)
    _pump: threading.Thread | None = field(default=None, init=False)

    def start(self):
        self._recent.clear()
        argv = command(self.argv, self.run_as, self.stop_signal)
        self.popen = subprocess.Popen(
            self.host.run(argv) if self.host else argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            errors="replace",
        )
        self._pump = threading.Thread(target=self._copy_output, name=f"log-{self.name}", daemon=True)
        self._pump.start()

    def _copy_output(self):
        for line in self.popen.stdout:
            line = line.rstrip()
            if line:
                self._recent.append(line)
                self.console.line(self.name, line)
        self.popen.stdout.close()

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    @property
    def exit_code(self):
        """None while running (or never started)."""
        return self.popen.poll() if self.popen else None

    def describe_exit(self):
        code = self.exit_code
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def tail(self):
        return "\n".join(f"  {line}" for line in self._recent) or "  (no output)"

    def pids(self):
        return process_group(self.pid) if self.popen else []

    def signal(self, sig, group=False):
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if group else os.kill)(self.pid, sig)

    def terminate(self):
        """Ask the leader to stop gracefully (its own stop signal); ``stop`` waits for it."""
        if self.popen and self.exit_code is None:
            self.signal(self.stop_signal)

    def stop(self, timeout=15):
        """Stop gracefully; after ``timeout`` seconds kill the whole process group.

        The group is killed in any case: it only still has members if the leader died without
        taking its children along, and those would keep the port and the log pipe open.
        """
        if self.popen is None:
            return
        self.terminate()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.console.line("stack", f"{self.name} did not stop within {timeout}s; killing it")
        self.signal(signal.SIGKILL, group=True)
        self.popen.wait()
        self._pump.join(timeout=5)
