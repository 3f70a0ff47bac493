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

from ..children import find_binary
from . import growth, report
from .measure import run_cells, worker_memory
from .stages import StageSpec, prepare, session_check, start_stack
from .wrk import wrk_binary

SCALE_PRODUCTS = (100, 100_000)
# "nginx version: nginx/1.22.1", "Redis server v=7.0.15 sha=...", "wrk debian/4.1.0-3+b2 [epoll]"
VERSION = re.compile(r"[/= ]v?(\d+\.\d+[^\s\]]*)")
SCALE_CELLS = ("healthz", "list", "search")
SCALE_DURATION = 2.5
RECORDED_OPTIONS = (
    "mode",
    "profiles",
    "db",
    "cells",
    "duration",
    "runs",
    "warmup",
    "connections",
    "servers",
    "workers",
    "scale",
    "growth",
    "session_rows",
)


def parse_stage(text, default_db="sqlite"):
    """``db`` or ``db@postgres``."""
    profile, _, db = text.partition("@")
    return StageSpec(profile=profile, db=db or default_db)


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
        for text in options["profiles"]:
            spec = parse_stage(text, options["db"])
            if options.get("cells"):
                spec.cells = tuple(cell for cell in spec.cells if cell in {"healthz", *options["cells"]})
            say(f"{spec.name}: starting the stack ({options['servers']} x {options['workers']} workers)")
            results["stages"].append(profile_stage(spec, options, folder, say, results))
            say(report.text_table(results["stages"][-1]))
            save(results)
        if options["scale"]:
            say(f"catalog at scale: seeding {SCALE_PRODUCTS[1]:,} products (takes a while)")
            results["scale"] = scale_stage(options, folder, say)
            for stage in results["scale"]:
                say(f"{stage['name']}:\n{report.text_table(stage)}")
            save(results)
        if options["growth"]:
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


def profile_stage(spec, options, folder, say, results):
    with open(folder / f"{spec.name}.log", "w") as log:
        stack = start_stack(spec, options, folder, log)
        try:
            prepared = prepare(spec, stack)
            run_cells([prepared], options, folder, say)
            spec.results["session_check"] = session_check(prepared, expect_session=spec.profile != "locmem")
            spec.results["memory"] = worker_memory(stack)
            if options["growth"] and spec.profile == "signed_cookies" and "cookie_growth" not in results:
                results["cookie_growth"] = growth.cookie_bytes_per_line(stack, prepared.products)
        finally:
            stack.stop()
    return spec.as_dict()


def scale_stage(options, folder, say):
    """The same profile over 100 and 100,000 products, both stacks up, cells interleaved."""
    specs = [StageSpec("db", products=n, cells=SCALE_CELLS, label=f"catalog-{n}") for n in SCALE_PRODUCTS]
    logs, running = [], []
    try:
        for spec in specs:
            logs.append(open(folder / f"{spec.name}.log", "w"))  # noqa: SIM115 (closed below)
            running.append(start_stack(spec, options, folder, logs[-1]))
        prepared = [prepare(spec, stack) for spec, stack in zip(specs, running, strict=True)]
        # Searching 100,000 rows takes a worker a good part of a second: longer runs, or a few requests.
        run_cells(prepared, {**options, "duration": round(options["duration"] * SCALE_DURATION)}, folder, say)
        for spec, stack in zip(specs, running, strict=True):
            spec.results["memory"] = worker_memory(stack)
    finally:
        for stack in running:
            stack.stop()
        for log in logs:
            log.close()
    return [spec.as_dict() for spec in specs]


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as file:
        memory_kb = int(file.readline().split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(memory_kb / 1024**2, 1),
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
    }


def versions():
    def program_version(*argv):
        if not argv[0]:
            return None
        result = subprocess.run(argv, capture_output=True, text=True)
        found = VERSION.search(result.stdout + result.stderr)
        return found.group(1) if found else None

    packages = {
        name: metadata.version(name) for name in ("gunicorn", "django-redis", "redis", "hiredis", "psycopg")
    }
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        **packages,
        "sqlite": sqlite3.sqlite_version,
        "nginx": program_version(find_binary("nginx"), "-v"),
        "redis-server": program_version(find_binary("redis-server"), "--version"),
        "postgresql": program_version(find_binary("postgres"), "--version"),
        "wrk": program_version(find_binary("wrk"), "-v"),
    }
