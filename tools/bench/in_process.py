"""``manage.py bench --in-process``: where a signed-in request's time goes, per profile, in one process.

No stack: each profile's settings in a child process of its own (``breakdown.py``) on one throwaway
SQLite database with 100 products, a private redis-server for the Redis profiles and a folder for
the file sessions; the static files collected as a server has them.
"""

import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from shop.core.profiles import needing_redis

from ..stack.children import Console, StackError
from ..stack.runner import END_OF_COMMAND, MANAGE_ALL
from ..stack.services import RedisServer
from .breakdown import PAGES, REQUEST
from .report import markdown_table
from .stages import Stage

PRODUCTS = 100
# This checkout's breakdown.py, loaded by path, so that a baseline checkout without it is measured alike.
CHILD = """
import importlib.util, sys, django
django.setup()
spec = importlib.util.spec_from_file_location("breakdown", sys.argv[1])
sys.modules["breakdown"] = module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.main()
"""
PAGE_NAMES = {
    "healthz": "`/healthz`",
    "probe": "`/lab/probe`",
    "list": "list",
    "detail": "product",
    "cart": "cart",
    "add": "add-to-cart",
}
DOC_BEGIN = "<!-- bench:in-process:begin (written by `manage.py bench --in-process --write-docs`) -->"
DOC_END = "<!-- bench:in-process:end -->"
TARGET = 3.0  # a signed-in probe within this many times /healthz


def settings_of(name):
    """(profile, environment) of a ``--profiles`` name: a profile, or PROFILE@SETTING for the settings
    that change only the environment (``nolock``, ``nodevice``, ``nometrics``: what each part costs)."""
    stage = Stage.parse(name)
    if (stage.db, stage.redis) != ("sqlite", "single") or "GUNICORN_CMD_ARGS" in stage.env:
        raise ValueError(f"{name}: in process, only a profile or its @nolock, @nodevice, @nometrics")
    return stage.profile, stage.env


def run(profiles, say, baseline=None):
    """{"started", "profiles": [one breakdown per profile]}. With ``baseline`` (another checkout of
    the shop, e.g. a ``git worktree`` of main), each profile is measured there too, right before it is
    measured here, on the same database: each breakdown then has the baseline's as ``"baseline"``."""
    results = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "profiles": []}
    with tempfile.TemporaryDirectory(prefix="shop-breakdown-") as name, ExitStack() as on_exit:
        folder = Path(name)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'shop.sqlite3'}",
            "STATIC_ROOT": str(folder / "static"),
            "SESSION_FILE_PATH": str(folder / "sessions"),
            "DEBUG": "false",
        }
        (folder / "sessions").mkdir()
        say(f"in process: migrating and seeding a database with {PRODUCTS} products, collecting static files")
        prepare = [["migrate"], ["seed_catalog", "--products", str(PRODUCTS)], ["collectstatic", "--noinput"]]
        child(env | {"DJANGO_SETTINGS_MODULE": "config.settings.db"}, ["-c", MANAGE_ALL, json.dumps(prepare)])
        if needing_redis([settings_of(name)[0] for name in profiles]):
            log = on_exit.enter_context(open(folder / "redis.log", "w"))
            redis = on_exit.enter_context(RedisServer(folder / "redis", console=Console(log)))
            env["REDIS_URL"] = redis.url
        for name in profiles:
            profile, variant = settings_of(name)
            profile_env = env | {"DJANGO_SETTINGS_MODULE": f"config.settings.{profile}"} | variant
            if baseline:
                say(f"in process: {name}, baseline {baseline}")
                before = breakdown(profile_env, baseline)
            say(f"in process: {name}")
            measured = breakdown(profile_env) | {"profile": name}
            results["profiles"].append(measured | ({"baseline": before} if baseline else {}))
    if baseline:
        results["baseline"] = str(baseline)
    return results


def breakdown(env, checkout=None):
    script = Path(__file__).with_name("breakdown.py")
    return json.loads(child(env, ["-c", CHILD, str(script)], checkout).strip().splitlines()[-1])


def child(env, argv, checkout=None):
    cwd = checkout or settings.BASE_DIR
    result = subprocess.run([sys.executable, *argv], env=env, cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        raise StackError(f"the in-process breakdown failed:\n{result.stdout}{result.stderr}")
    return result.stdout.replace(END_OF_COMMAND, "")


def ratio(measured, page):
    return measured["pages"][page]["total_us"] / measured["pages"]["healthz"]["total_us"]


def summary_markdown(results):
    """Per profile: each page's time and its multiple of /healthz; the probe against its target."""
    header = " | ".join(["profile", *(PAGE_NAMES[page] for page in PAGES), f"probe ≤ {TARGET:g}× `/healthz`"])
    rows = []
    for measured in results["profiles"]:
        pages = measured["pages"]
        cells = [f"{pages['healthz']['total_us']:.0f} µs"]
        cells += [f"{pages[page]['total_us']:.0f} µs ({ratio(measured, page):.1f}×)" for page in PAGES[1:]]
        met = ratio(measured, "probe") <= TARGET
        rows.append(" | ".join([f"`{measured['profile']}`", *cells, "yes" if met else "**no**"]))
    return markdown_table(header, "l" + "r" * len(PAGES) + "c", rows)


def profile_markdown(measured):
    """One profile: rows are the parts of the request path (own time, µs), columns the pages."""
    pages = measured["pages"]
    rows = []
    for section in measured["sections"]:
        values = [pages[page]["sections_us"][section] for page in PAGES]
        if any(value >= 0.5 for value in values):
            rows.append(" | ".join([section, *(f"{value:.0f}" for value in values)]))
    rows.append(
        " | ".join(
            ["**total CPU** (median of rounds)", *(f"**{pages[page]['total_us']:.0f}**" for page in PAGES)]
        )
    )
    spread = [f"{pages[page]['spread_us'][0]:.0f}–{pages[page]['spread_us'][1]:.0f}" for page in PAGES]
    rows.append(" | ".join(["min–max of rounds", *spread]))
    rows.append(
        " | ".join(["wall clock (median of rounds)", *(f"{pages[page]['wall_us']:.0f}" for page in PAGES)])
    )
    rows.append(" | ".join(["× `/healthz`", *(f"{ratio(measured, page):.2f}" for page in PAGES)]))
    rows.append(" | ".join(["SQL queries", *(str(pages[page]["queries"]) for page in PAGES)]))
    header = " | ".join(["CPU µs per request (own time)", *(PAGE_NAMES[page] for page in PAGES)])
    return markdown_table(header, "l" + "r" * len(PAGES), rows)


def comparison_markdown(results):
    """Per profile and page: the baseline's and this checkout's multiple of /healthz, CPU after ÷ before."""
    header = " | ".join(["profile", *(PAGE_NAMES[page] for page in PAGES[1:])])
    rows = []
    for measured in results["profiles"]:
        before = measured["baseline"]
        cells = [
            f"{ratio(before, page):.1f}× → {ratio(measured, page):.1f}× "
            f"({measured['pages'][page]['total_us'] / before['pages'][page]['total_us']:.2f})"
            for page in PAGES[1:]
        ]
        rows.append(" | ".join([f"`{measured['profile']}`", *cells]))
    note = (
        f"\nBefore → after, each as a multiple of its own `/healthz` CPU time; in brackets the page's CPU "
        f"time after ÷ before. The baseline is `{results['baseline']}`, measured in the same run, each "
        "profile right before this checkout's.\n"
    )
    return markdown_table(header, "l" + "r" * (len(PAGES) - 1), rows) + note


def markdown(results):
    parts = [
        f"Latest run: {results['started']}, `{results['command']}`. Django's test client, a signed-in "
        f"shopper with a 3-line cart, {PRODUCTS} products, SQLite; medians of rounds of 20 requests per "
        "page, interleaved. Each part's own CPU time (µs of the thread), without the parts it calls: "
        "the session read counts where it happens, not in the middleware that asked for it; "
        f"`{REQUEST}` is Django's WSGI handler around them all.\n",
        summary_markdown(results),
    ]
    if results.get("baseline"):
        parts.append(comparison_markdown(results))
    for measured in results["profiles"]:
        parts += [f"#### `{measured['profile']}`\n", profile_markdown(measured)]
    return "\n".join(parts)
