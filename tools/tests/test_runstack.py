"""``manage.py runstack`` as a person runs it: started, signalled, restarted, and left clean."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from conftest import require_binary, skip_or_fail
from tools.client import Shopper, products_for_sale
from tools.stack.children import port_is_listening, wait_until
from tools.stack.hosts import can_make_hosts
from tools.stack.servers import healthz

pytestmark = pytest.mark.stack

READY = r"Shop running at (http://127\.0\.0\.1:(\d+)/)"


def manage(*args, **kwargs):
    command = [sys.executable, "manage.py", *args]
    return subprocess.Popen(command, cwd=settings.BASE_DIR, text=True, **kwargs)


def process_tree():
    """{pid: (ppid, state)} of every process (Linux /proc)."""
    tree = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as file:
                state, ppid = file.read().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        tree[int(entry)] = (int(ppid), state)
    return tree


def still_running(pids):
    tree = process_tree()
    return [pid for pid in pids if pid in tree and tree[pid][1] != "Z"]


class Runstack:
    """``manage.py runstack`` in a subprocess, its console collected line by line."""

    def __init__(self, run_dir, database_url, *options):
        self.run_dir = run_dir
        self.process = manage(
            "runstack",
            "--port",
            "0",
            "--run-dir",
            str(run_dir),
            *options,
            env={**os.environ, "DATABASE_URL": database_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    @property
    def output(self):
        return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.process.poll() is not None:
                self._reader.join(5)
                pytest.fail(f"runstack exited ({self.process.returncode}) before {pattern!r}:\n{self.output}")
            time.sleep(0.1)
        pytest.fail(f"no {pattern!r} within {timeout}s:\n{self.output}")

    def descendants(self):
        tree = process_tree()
        found, frontier = set(), {self.process.pid}
        while frontier:
            frontier = {pid for pid, (ppid, _) in tree.items() if ppid in frontier}
            found |= frontier
        return found

    def ports(self):
        """nginx's, the servers' and redis's ports, from the console and nginx.conf."""
        config = (self.run_dir / "nginx.conf").read_text()
        ports = [int(port) for port in re.findall(r"server 127\.0\.0\.1:(\d+)", config)]
        ports.append(int(re.search(READY, self.output).group(2)))
        redis = r"redis \(redis-primary\) started on 127\.0\.0\.1:(\d+)"
        ports.extend(int(port) for port in re.findall(redis, self.output))
        return ports

    def finish(self, timeout=30):
        self.process.wait(timeout)
        self._reader.join(5)
        return self.process.returncode


@pytest.fixture
def runstack(stack_database):
    """Start ``manage.py runstack`` processes; any still running at the end is stopped."""
    require_binary("nginx")
    require_binary("redis-server")
    started = []

    def start(run_dir, *options):
        started.append(Runstack(run_dir, stack_database, *options))
        return started[-1]

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.terminate()
            process.finish()


def shopper_with_a_cart_of_3(url):
    """A shopper signed up at ``url`` with 3 of a product in the cart: (username, browser)."""
    shopper = Shopper(url).sign_up()
    shopper.add(products_for_sale(shopper.browser)[0], 3)
    return shopper.username, shopper.browser


def test_ctrl_c_leaves_nothing_behind_and_sessions_survive_a_full_restart(tmp_path, runstack):
    run_dir = tmp_path / "run"
    first = runstack(run_dir, "--profile", "cache", "--servers", "2", "--workers", "1")
    survivor, browser = shopper_with_a_cart_of_3(first.wait_for(READY).group(1))
    processes, ports = first.descendants(), first.ports()
    assert len(processes) >= 8  # nginx master + 2 workers, 2 x (gunicorn master + worker), redis
    assert len(ports) == 4

    first.process.send_signal(signal.SIGINT)
    assert first.finish() == 0, first.output
    assert "Stopped: no process of the stack is left." in first.output
    assert still_running(processes) == []
    assert [port for port in ports if port_is_listening(port)] == []
    assert sorted(path.name for path in run_dir.iterdir()) == [
        "cache",  # nginx's micro-cache
        "catalog_cache.conf",
        "logs",
        "metrics",  # each server's Prometheus files, emptied when it starts again
        "nginx.conf",
        "redis",
        "secret_key",
        "secret_key.id",
        "static",
        "tmp",
    ]
    assert (run_dir / "secret_key").stat().st_mode & 0o777 == 0o600

    # Same run folder: same SECRET_KEY and the same Redis data, so the same session.
    second = runstack(run_dir, "--profile", "cache", "--servers", "2", "--workers", "1")
    browser.base_url = second.wait_for(READY).group(1).rstrip("/")  # cookies ignore the port
    probe = browser.probe()
    assert (probe["username"], probe["cart_items"]) == (survivor, 3)
    second.process.send_signal(signal.SIGTERM)
    assert second.finish() == 0, second.output


def leave_a_dead_runstacks_socket(run_dir):
    """What a runstack killed with SIGKILL leaves: its control socket's file, which nobody listens on,
    and the key beside it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(run_dir / "control.sock"))
    (run_dir / "control.key").write_text("a dead runstack's key")


def test_a_dead_runstacks_socket_answers_no_request(tmp_path):
    leave_a_dead_runstacks_socket(tmp_path)
    for request in (["--restart"], ["--status"], ["--partition", "host1"], ["--rotate-secret-key"]):
        status, output = run_command("runstack", *request, "--run-dir", str(tmp_path))
        assert (status, output.strip()) == (1, f"CommandError: no runstack is running from {tmp_path}")


def test_restart_from_the_command_line_and_a_dying_store_comes_back_with_its_data(tmp_path, runstack):
    run_dir = tmp_path / "run"
    leave_a_dead_runstacks_socket(run_dir)  # which must not stop the next start
    stack = runstack(run_dir, "--profile", "cache", "--servers", "2", "--workers", "1")
    mover, browser = shopper_with_a_cart_of_3(stack.wait_for(READY).group(1))
    status, output = run_command("runstack", "--restart", "server1", "--run-dir", str(run_dir))
    assert status == 0, output
    assert re.search(r"server1 restarted \(pid \d+ -> \d+\)\nRestarted server1\.", output), output
    stack.wait_for(r"\[stack\] server1 restarted \(pid \d+ -> \d+\)", timeout=5)
    status, output = run_command("runstack", "--restart", "server9", "--run-dir", str(run_dir))
    assert status == 1 and "no server 'server9'; this stack has server1, server2" in output, output

    processes = stack.descendants()
    redis = [pid for pid in processes if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    os.kill(redis[0], signal.SIGKILL)
    stack.wait_for(r"\[stack\] redis died \(killed by SIGKILL\); starting it again with its data", timeout=10)
    # 503s while it starts, then the session (Redis is its only copy under cache) from its append-only file.
    wait_until(
        lambda: probe_or_none(browser) == (mover, 3), 20, "waiting for the session after Redis's crash"
    )
    stack.process.send_signal(signal.SIGTERM)
    assert stack.finish() == 0
    assert still_running(processes) == []
    assert not [name for name in ("stack.pid", "control.sock", "control.key") if (run_dir / name).exists()]

    status, output = run_command("runstack", "--restart", "--run-dir", str(run_dir))
    assert status == 1 and f"no runstack is running from {run_dir}" in output


def probe_or_none(browser):
    """(username, cart_items) from /lab/probe, or None while the shop answers 503."""
    response = browser.get("/lab/probe")
    return (
        (response.json()["username"], response.json()["cart_items"]) if response.status_code == 200 else None
    )


def run_command(*args):
    """``manage.py`` with ``args`` to its end: (exit status, everything it printed)."""
    command = manage(*args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = command.communicate(timeout=300)[0]
    return command.returncode, output


def test_switch_and_rotation_from_the_command_line_keep_the_session_across_a_full_restart(tmp_path, runstack):
    run_dir = tmp_path / "run"
    first = runstack(run_dir, "--profile", "db", "--servers", "2", "--workers", "1")
    mover, browser = shopper_with_a_cart_of_3(first.wait_for(READY).group(1))
    key_before = browser.probe()["key_id"]

    status, output = run_command("runstack", "--switch-profile", "signed_cookies", "--run-dir", str(run_dir))
    assert status == 0, output
    assert "phase 1: every server reads signed cookies too, still writing db's store" in output
    assert "Switched from db to signed_cookies" in output
    probes = [browser.probe() for _ in range(4)]
    seen = {(probe["profile"], probe["username"], probe["cart_items"]) for probe in probes}
    assert seen == {("signed_cookies", mover, 3)}

    status, output = run_command("runstack", "--rotate-secret-key", "--run-dir", str(run_dir))
    assert status == 0, output
    assert "phase 2: every server signs with" in output
    probes = [browser.probe() for _ in range(4)]
    assert len({p["key_id"] for p in probes}) == 1 and probes[0]["key_id"] != key_before
    assert {(p["username"], p["cart_items"]) for p in probes} == {(mover, 3)}
    assert (run_dir / "secret_key.previous").stat().st_mode & 0o777 == 0o600

    status, output = run_command("runstack", "--status", "--run-dir", str(run_dir))
    state = json.loads(output)
    assert (state["profile"], state["key_id"]) == ("signed_cookies", probes[0]["key_id"])
    assert [fallback["profile"] for fallback in state["session_fallbacks"]] == ["db"]
    status, output = run_command("runstack", "--switch-profile", "signed_cookies", "--run-dir", str(run_dir))
    assert status == 1 and "the stack already runs profile signed_cookies" in output
    status, output = run_command("runstack", "--partition", "server1", "--run-dir", str(run_dir))
    assert status == 1 and "has no hosts: it runs without --hosts" in output

    first.process.send_signal(signal.SIGTERM)
    assert first.finish() == 0, first.output
    # A full stop and start: the same key, the old one still accepted, db's store still read.
    second = runstack(run_dir, "--profile", "signed_cookies", "--servers", "2", "--workers", "1")
    assert "reading db's sessions too" in second.wait_for(READY).string
    browser.base_url = second.wait_for(READY).group(1).rstrip("/")  # cookies ignore the port
    probe = browser.probe()
    assert (probe["username"], probe["cart_items"], probe["key_id"]) == (mover, 3, probes[0]["key_id"])
    second.process.send_signal(signal.SIGTERM)
    assert second.finish() == 0, second.output

    status, output = run_command("runstack", "--rotate-secret-key", "--run-dir", str(run_dir))
    assert status == 1 and f"no runstack is running from {run_dir}" in output
    status, output = run_command("runstack", "--switch-profile", "locmem", "--run-dir", str(run_dir))
    assert status == 1 and "no switch to locmem keeps sessions" in output
    status, output = run_command("runstack", "--switch-profile", "memcached", "--run-dir", str(run_dir))
    assert status == 2 and "invalid choice: 'memcached'" in output


def test_partition_and_heal_from_the_command_line(tmp_path, runstack):
    if not can_make_hosts():
        skip_or_fail("--hosts needs root (or CAP_NET_ADMIN) for network namespaces")
    run_dir = tmp_path / "run"
    stack = runstack(run_dir, "--profile", "db", "--servers", "2", "--workers", "1", "--hosts")
    stack.wait_for(READY)
    status, output = run_command("runstack", "--status", "--run-dir", str(run_dir))
    server2 = next(part for part in json.loads(output)["parts"] if part["name"] == "server2")
    assert status == 0 and server2["host"] == "host2"

    def answers():
        return healthz(server2["port"], address=server2["address"])

    status, output = run_command("runstack", "--partition", "server2", "--run-dir", str(run_dir))
    assert (status, output.strip()) == (0, f"host2 ({server2['address']}) is cut off the network")
    assert not answers()
    status, output = run_command("runstack", "--heal", "host2", "--run-dir", str(run_dir))
    assert (status, output.strip()) == (0, f"host2 ({server2['address']}) is back on the network")
    wait_until(answers, 10, "waiting for server2 to answer on host2 again")
    status, output = run_command("runstack", "--partition", "host9", "--run-dir", str(run_dir))
    assert status == 1 and "no host or part 'host9'; this stack has host1, host2, server1, server2" in output
    stack.process.send_signal(signal.SIGTERM)
    assert stack.finish() == 0, stack.output


def test_a_busy_port_is_refused_before_anything_starts(tmp_path, stack_database):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = manage(
            "runstack",
            "--port",
            str(port),
            "--run-dir",
            str(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert command.wait(30) == 1
        assert f"port {port} is already in use" in command.stdout.read()
    assert list(tmp_path.iterdir()) == []
