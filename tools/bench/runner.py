"""The whole benchmark: every profile's stage, the catalog at scale, and how sessions grow.

``run(options, say)`` returns one JSON-ready dict; ``manage.py bench`` prints and saves it.
"""

import os
import platform
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import django

from shop.core.profiles import profile

from ..stack.children import find_binary
from . import cookie_cost, growth, report, round_trips
from .measure import run_cells, worker_memory
from .stages import Stage, running
from .wrk import wrk_binary

SCALE_PRODUCTS = (100, 100_000)
# "nginx version: nginx/1.22.1", "Redis server v=7.0.15 sha=...", "wrk debian/4.1.0-3+b2 [epoll]"
VERSION = re.compile(r"[/= ]v?(\d+\.\d+[^\s\]]*)")
SCALE_CELLS = ("healthz", "list", "search")
SCALE_DURATION = 2.5
RECORDED_OPTIONS = ("mode", "profiles", "db", "cells", "duration", "runs", "warmup", "connections", "servers")
RECORDED_OPTIONS += ("workers", "scale", "growth", "session_rows", "side_by_side")


def run(options, say, save=lambda results: None):
    """Everything the options ask for; ``save(results)`` is called after each stage, so a run
    that fails half-way still leaves what it measured."""
    wrk_binary()  # fail before starting anything when wrk is missing
    folder = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    started = time.monotonic()
    results = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {key: options.get(key) for key in RECORDED_OPTIONS},
        "machine": machine(),
        "versions": versions(),
        "stages": [],
    }
    try:
        stages = [Stage.parse(text, options["db"]) for text in options["profiles"]]
        for stage in stages:
            if options["cells"]:
                stage.cells = tuple(cell for cell in stage.cells if cell in {"healthz", *options["cells"]})
        # Side by side: every stack up at once, their cells interleaved, so that the load from
        # elsewhere on the machine falls on all of them alike (comparing settings, not profiles).
        for group in [stages] if options["side_by_side"] else [[stage] for stage in stages]:
            names = ", ".join(stage.name for stage in group)
            say(f"{names}: starting the stack ({options['servers']} x {options['workers']} workers)")
            results["stages"] += profile_stages(group, options, folder, say, results)
            for stage in results["stages"][-len(group) :]:
                say(f"{stage['name']}:\n{report.stage_markdown(stage)}")
            save(results)
        if options["scale"]:
            say(f"catalog at scale: seeding {SCALE_PRODUCTS[1]:,} products (takes a while)")
            results["scale"] = scale_stages(options, folder, say)
            for stage in results["scale"]:
                say(f"{stage['name']}:\n{report.stage_markdown(stage)}")
            save(results)
        if options["growth"]:
            say("cookie sessions in this process: encrypting against signing")
            results["cookie_cost"] = cookie_cost.measure()
            databases = ["sqlite"] + (["postgres"] if find_binary("initdb") else [])
            results["session_rows"] = growth.session_rows(databases, options["session_rows"], say)
    finally:
        if options["keep"]:
            say(f"kept the run folders and logs in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    results["machine"]["load_after"] = os.getloadavg()
    results["seconds"] = round(time.monotonic() - started)
    return results


def profile_stages(stages, options, folder, say, results):
    with running(stages, options, folder):
        run_cells(stages, options, folder, say)
        for stage in stages:
            stage.results["session_check"] = stage.session_check()
            stage.results["round_trips"] = stage.stack.python(round_trips.SCRIPT)
            stage.results["memory"] = worker_memory(stage.stack)
            if options["growth"] and profile(stage.profile).in_cookie and "cookie_growth" not in results:
                results["cookie_growth"] = growth.cookie_bytes_per_line(stage.stack, stage.for_sale)
    return [stage.as_dict() for stage in stages]


def scale_stages(options, folder, say):
    """The same profile over 100 and 100,000 products, both stacks up, cells interleaved."""
    stages = [Stage("db", products=n, cells=SCALE_CELLS, label=f"catalog-{n}") for n in SCALE_PRODUCTS]
    with running(stages, options, folder):
        # Searching 100,000 rows takes a worker a good part of a second: longer runs, or a few requests.
        run_cells(stages, {**options, "duration": round(options["duration"] * SCALE_DURATION)}, folder, say)
        for stage in stages:
            stage.results["memory"] = worker_memory(stage.stack)
    return [stage.as_dict() for stage in stages]


def machine():
    cpu = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu[1].strip() if cpu else "",
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1024**3, 1),
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
    }


def versions():
    packages = ("gunicorn", "django-redis", "redis", "hiredis", "psycopg")
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        **{name: metadata.version(name) for name in packages},
        "sqlite": sqlite3.sqlite_version,
        "nginx": program_version("nginx", "-v"),
        "redis-server": program_version("redis-server", "--version"),
        "postgresql": program_version("postgres", "--version"),
        "wrk": program_version("wrk", "-v"),
    }


def program_version(name, flag):
    path = find_binary(name)
    if path is None:
        return None
    result = subprocess.run([path, flag], capture_output=True, text=True)
    found = VERSION.search(result.stdout + result.stderr)
    return found.group(1) if found else None
