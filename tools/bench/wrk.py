"""One load run: wrk replays prepared requests through nginx and reports one JSON line.

wrk (Debian package ``wrk``) is an event-loop load generator in C: one thread keeps a dozen
keep-alive connections busy for a fraction of a core, which matters on a two-core machine
where every cycle wrk spends is taken from nginx and gunicorn. Cookies, CSRF tokens and
POST bodies come from ``requests.lua``, which formats every request once, up front.
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..stack.children import StackError, find_binary

SCRIPT = Path(__file__).with_name("requests.lua")
FOLLOW = Path(__file__).with_name("follow.lua")  # the writes: a shopper per connection
RESULT_PREFIX = "WRK-RESULT "
TIMEOUT = 10  # seconds: a slower response counts as a timeout error


def wrk_binary():
    path = find_binary("wrk")
    if path is None:
        raise StackError(
            "wrk is needed for the benchmark but was not found; install it with `scripts/system-deps wrk` "
            "(Debian package wrk) or `sudo apt-get install wrk`"
        )
    return path


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    cookie: str = ""
    body: str = ""

    def line(self):
        for field in (self.path, self.cookie, self.body):
            if "\t" in field or "\n" in field:
                raise ValueError(f"tab or newline in a request field: {field!r}")
        return f"{self.method}\t{self.path}\t{self.cookie or '-'}\t{self.body or '-'}\n"


def run_wrk(url, requests_file, duration, connections, follow=None):
    """Drive ``url`` (nginx's) for ``duration`` seconds; returns the measured figures as a dict.
    ``follow``: the session cookie's name, for a thread per connection that sends the cookie its
    answers set (follow.lua), instead of one thread replaying fixed requests."""
    threads, script, extra = (connections, FOLLOW, [follow]) if follow else (1, SCRIPT, [])
    load = [f"-t{threads}", f"-c{connections}", f"-d{duration}s", f"--timeout={TIMEOUT}s"]
    argv = [wrk_binary(), *load, "-s", str(script), url, "--", str(requests_file), *extra]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + TIMEOUT + 30)
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if result.returncode or not lines:
        raise StackError(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    raw = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1),
        **{f"{latency}_ms": raw[f"{latency}_us"] / 1000 for latency in ("p50", "p90", "p99", "max")},
        "status_errors": raw["status"],
        "socket_errors": socket_errors,
        "errors": raw["status"] + socket_errors,
    }
