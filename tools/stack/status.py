"""What runs where: the status ``runstack --status`` prints (DESIGN.md), and who runs the stack.

The running stack answers ``--status`` itself (``control.py``), asking its Sentinels for the Redis
group's roles as they are now. ``status.json`` in the run folder is a copy for people and scripts,
rewritten whenever a part starts again; ``stack.pid`` names the process that runs the stack.
"""

import json
import os
import socket
from pathlib import Path

from .services import RedisSentinel

STATUS_FILE = "status.json"
PART_FIELDS = ("name", "role", "pid", "host", "address", "port")  # of each part in the status


PID_FILE = "stack.pid"


def current_roles(parts):
    """``parts`` with the Redis group's roles as its Sentinels see them now (after a failover the
    promoted replica is the primary)."""
    for sentinel in (p for p in parts if p["role"] == "sentinel"):
        primary = RedisSentinel.ask_primary(sentinel["address"], sentinel["port"])
        if primary:
            for part in parts:
                if part["role"] in ("redis-primary", "redis-replica"):
                    is_primary = (part["address"], part["port"]) == primary
                    part["role"] = "redis-primary" if is_primary else "redis-replica"
            break
    return parts


def stack_pid(run_dir):
    """The pid of the live process that runs a stack from ``run_dir`` (``PID_FILE``), or None."""
    try:
        pid = int((Path(run_dir) / PID_FILE).read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


class StatusReport:
    """Mixed into ``Stack``: what it runs, as JSON and in words."""

    def status(self):
        """What runs where, as ``runstack --status`` prints it (DESIGN.md)."""
        machine = socket.gethostname()
        rows = [("nginx", "balancer", self.nginx.pid, machine, "127.0.0.1", self.port)]
        others = [*self.stores, *self.monitors]
        for part, role in [*((s, "server") for s in self.servers), *((s, s.role) for s in others)]:
            host = part.host.name if part.host else machine
            rows.append((part.name, role, part.child.pid, host, part.address, part.port))
        return {
            "profile": self.profile,
            "url": self.url,
            "parts": current_roles([dict(zip(PART_FIELDS, row, strict=True)) for row in rows]),
            "session_fallbacks": self.session_fallbacks,
            "key_id": self.env.get("SHOP_SECRET_KEY_ID") or None,
        }

    def write_status(self):
        (self.run_dir / STATUS_FILE).write_text(json.dumps(self.status(), indent=2) + "\n")
        self.remember_redis_primary()  # also here: a runstack killed with SIGKILL does not stop
        self.refresh_scrape_targets()

    def describe(self):
        servers = ", ".join(f"{s.name} :{s.port}" for s in self.servers)
        reading = "".join(f", reading {f['profile']}'s sessions too" for f in self.session_fallbacks)
        return (
            f"{self.url} - profile {self.profile}{reading}, {len(self.servers)} servers x {self.workers} "
            f"workers ({servers}), {self.balance}, db {self.db}"
            + (f", Prometheus at {self.prometheus_url}" if self.metrics else "")
        )
