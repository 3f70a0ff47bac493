"""The benchmark's Markdown tables: printed while it runs, and written to docs/BENCHMARKS.md."""

import re

from shop.core.profiles import profile as profile_named

from .round_trips import CELLS as TRIP_CELLS
from .round_trips import LATENCIES_MS, added_latency
from .stages import CELLS

DOC_BEGIN = "<!-- bench:begin (written by `manage.py bench --write-docs`; edit outside these markers) -->"
DOC_END = "<!-- bench:end -->"
# (what, profile, cell, reference cell, minimum ratio of req/s); "*" is every SQLite stage but
# locmem, whose session is missing on most workers (the stateful failure): it measures nothing here.
RATIO_TARGETS = [
    ("session read: the engine alone (tiny view with / without a session)", "*", "session", "nosession", 0.9),
    ("add-to-cart vs /healthz", "signed_cookies", "add", "healthz", 0.85),
    ("add-to-cart vs /healthz", "cache", "add", "healthz", 0.7),
    ("add-to-cart vs /healthz", "db", "add", "healthz", 0.5),
    ("catalog list vs /healthz", "*", "list", "healthz", 0.6),
    ("product page, logged in, vs /healthz", "*", "detail", "healthz", 0.6),
    ("catalog list without a cookie, from nginx's cache, vs /healthz", "*", "anon", "healthz", 5.0),
]
RSS_LIMIT_MB = 80
SCALE_LIMIT = 2.0
FLAT_LIMIT = 1.5
MET = {True: "yes", False: "**no**", None: "-"}  # None: reported, no target


def _ratio(value):
    return "-" if value is None else f"{value:.2f}"


def markdown_table(header, align, rows):
    """``header`` and each row are cells joined by " | "; ``align`` is "l", "r" or "c" per column."""
    rule = "|" + "".join({"l": "---|", "r": "---:|", "c": ":---:|"}[a] for a in align)
    return "\n".join([f"| {header} |", rule, *(f"| {row} |" for row in rows)]) + "\n"


def stage_markdown(stage):
    header = "cell | req/s (median) | min–max | p50 ms | p99 ms | errors | ratio | CPU ms/req | CPU ratio"
    rows = [
        f"{CELLS[name]} | {c['rps']:.0f} | {c['rps_min']:.0f}–{c['rps_max']:.0f} | {c['p50_ms']:.2f} "
        f"| {c['p99_ms']:.2f} | {c['errors']} | {_ratio(c['ratio'])} | {c['cpu_ms']:.2f} "
        f"| {_ratio(c['cpu_ratio'])}"
        for name, c in stage["cells"].items()
    ]
    memory = stage.get("memory", {})
    rss = f"max {memory.get('max_rss_mb')} MB, mean {memory.get('mean_rss_mb')} MB"
    notes = [f"Worker RSS after the load: {rss}"]
    check = stage.get("session_check")
    if check:
        notes.append(
            f"then the first shopper's probe says authenticated={check['authenticated']}, "
            f"cart_items={check['cart_items']} (anonymous visitor: cart_items={check['visitor_cart_items']})"
        )
    return markdown_table(header, "lrrrrrrrr", rows) + "\n" + "; ".join(notes) + ".\n"


def ratio_matrix(stages):
    """req/s (ratio to /healthz) for every cell of every stage, one column per stage."""
    rows = []
    for cell in CELLS:
        measured = [stage["cells"].get(cell) for stage in stages]
        if any(measured):
            figures = [f"{c['rps']:.0f} ({_ratio(c['ratio'])})" if c else "" for c in measured]
            rows.append(" | ".join([cell, *figures]))
    header = " | ".join(["cell", *(f"`{stage['name']}`" for stage in stages)])
    return markdown_table(header, "l" + "r" * len(stages), rows)


def targets(results):
    """(target, measured, CPU-based estimate, met, shortfall), as text, for every target the run measured."""
    rows = []
    for what, profile, cell, reference, minimum in RATIO_TARGETS:
        for stage in results["stages"]:
            shared = profile_named(stage["profile"]).across_servers
            wanted = shared if profile == "*" else stage["profile"] == profile
            c, ref = stage["cells"].get(cell), stage["cells"].get(reference)
            if stage["db"] == "sqlite" and wanted and c and ref:
                ratio, cpu = c["rps"] / ref["rps"], ref["cpu_ms"] / c["cpu_ms"]
                short = "" if ratio >= minimum else f"short by {minimum - ratio:.2f}"
                what_here = f"{what}, `{stage['name']}` ≥ {minimum}"
                rows.append((what_here, f"{ratio:.2f}", f"{cpu:.2f}", MET[ratio >= minimum], short))
    for stage in results["stages"]:
        c = stage["cells"].get("add")
        if stage["db"] != "sqlite" and c:
            what = f"add-to-cart, `{stage['name']}` (reported)"
            rows.append((what, _ratio(c["ratio"]), _ratio(c["cpu_ratio"]), MET[None], ""))
    scale = results.get("scale") or []
    if scale:
        small, large = scale
        sizes = f"{large['products']:,} products within {SCALE_LIMIT:.0f}× of {small['products']}"
        for cell in ("list", "search"):
            slower = small["cells"][cell]["rps"] / max(large["cells"][cell]["rps"], 0.1)
            cpu = large["cells"][cell]["cpu_ms"] / small["cells"][cell]["cpu_ms"]
            over = "" if slower <= SCALE_LIMIT else f"{slower / SCALE_LIMIT:.1f}× over"
            met = MET[slower <= SCALE_LIMIT]
            rows.append((f"{cell} at {sizes}", f"{slower:.1f}× slower", f"{cpu:.1f}× the CPU", met, over))
    memory = [stage["memory"]["max_rss_mb"] for stage in results["stages"] + scale if "memory" in stage]
    if memory:
        worst = max(memory)
        over = "" if worst <= RSS_LIMIT_MB else f"{worst - RSS_LIMIT_MB:.0f} MB over"
        what = f"worker RSS ≤ {RSS_LIMIT_MB} MB after the benchmark"
        rows.append((what, f"{worst} MB", "", MET[worst <= RSS_LIMIT_MB], over))
    for db, measured in (results.get("session_rows") or {}).items():
        flat = measured["large"]["p50_us"] / measured["small"]["p50_us"]
        what = f"`db` session load() flat with {measured['expired_rows']:,} more rows ({db})"
        rows.append((what, f"p50 {flat:.2f}× of 1k rows", "", MET[flat <= FLAT_LIMIT], ""))
    return rows


def targets_markdown(results):
    rows = [" | ".join(row) for row in targets(results)]
    return markdown_table("target | measured (req/s) | CPU estimate | met | shortfall", "lrrcl", rows)


def generated_markdown(results):
    o, m, v = results["options"], results["machine"], results["versions"]
    parts = [
        f"Latest run: {results['started']}, {results.get('seconds', '?')} s, `{results['command']}` "
        f"({o['mode']} mode: {o['runs']} runs × {o['duration']} s per cell, interleaved, after a "
        f"{o['warmup']} s warm-up; wrk 1 thread × {o['connections']} connections).\n",
        f"**Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"load average {_load(m['load_before'])} before, {_load(m.get('load_after'))} after. The machine "
        "is shared with other engineers' test runs: req/s moves with their load, the CPU columns "
        "much less.\n",
        "**Versions:** " + ", ".join(f"{name} {value}" for name, value in v.items() if value) + ".\n",
        f"**Topology:** wrk → nginx (keep-alive from wrk) → {o['servers']} gunicorn servers × "
        f"{o['workers']} sync workers (a new upstream connection per request; `@gthread` and "
        "`@threads2` stages: threaded workers, kept connections) → the profile's store; SQLite in WAL "
        "mode unless the stage says `@postgres`; nginx and gunicorn access logs on, as deployed"
        + ("; the stacks ran side by side, their cells interleaved" if o.get("side_by_side") else "")
        + ".\n",
        "### Requests per second (ratio to `/healthz` of the same stack)\n",
        ratio_matrix(results["stages"]),
        "### Targets\n",
        targets_markdown(results),
    ]
    for stage in results["stages"]:
        parts += [f"### `{stage['name']}`, {stage['products']} products\n", stage_markdown(stage)]
    if any(stage.get("round_trips") for stage in results["stages"]):
        parts += [
            "### Store round trips per request (SQL queries + Redis commands)\n",
            round_trips_markdown(results),
        ]
    if results.get("scale"):
        parts.append("### Catalog at scale (profile `db`, SQLite, both stacks up, cells interleaved)\n")
        parts.append(ratio_matrix(results["scale"]))
        for stage in results["scale"]:
            parts += [f"`{stage['name']}`:\n", stage_markdown(stage)]
    if results.get("cookie_growth"):
        parts.append("### Signed-cookie session size per cart line (logged-in shopper)\n")
        parts.append(cookie_markdown(results["cookie_growth"]))
    if results.get("cookie_cost"):
        parts.append("### Cookie sessions in one process: encrypting against signing\n")
        parts.append(cookie_cost_markdown(results["cookie_cost"]))
    if results.get("session_rows"):
        parts += ["### `db` sessions with a large table\n", rows_markdown(results["session_rows"])]
    return "\n".join(parts)


def round_trips_markdown(results):
    """Per profile: each page's round trips, and what they would add across a network."""
    header = " | ".join(["profile", *TRIP_CELLS, *(f"add-to-cart +ms at {ms} ms" for ms in LATENCIES_MS)])
    rows = []
    for stage in (s for s in results["stages"] if s.get("round_trips")):
        trips = stage["round_trips"]
        cells = [f"{trips[cell]['sql']} + {trips[cell]['redis']}" for cell in TRIP_CELLS]
        rows.append(" | ".join([f"`{stage['name']}`", *cells, *map(str, added_latency(trips["add"]))]))
    note = (
        "\nEach count is one logged-in request of that page (SQL queries + Redis commands), counted, not "
        "timed: it does not depend on the machine. Across a network each is a round trip; the last columns "
        "are what add-to-cart's would add at 0.5 ms and 2 ms per round trip.\n"
    )
    return markdown_table(header, "l" + "r" * (len(TRIP_CELLS) + len(LATENCIES_MS)), rows) + note


def _load(values):
    return " / ".join(f"{value:.2f}" for value in values) if values else "?"


def cookie_markdown(growth):
    header = "cart lines | cookie value bytes | Set-Cookie header bytes"
    rows = [f"{row['lines']} | {row['value_bytes']} | {row['set_cookie_bytes']}" for row in growth["rows"]]
    first, last = growth["rows"][0], growth["rows"][-1]
    per_line = (last["value_bytes"] - first["value_bytes"]) / max(last["lines"] - first["lines"], 1)
    return markdown_table(header, "rrr", rows) + (
        f"\nAbout {per_line:.1f} bytes per line (JSON, compressed when it pays, base64). "
        f"A 51st line is refused (HTTP {growth['line_51_status']}) and the cart keeps "
        f"{growth['cart_items_after']} units. Browsers cap a cookie at 4096 bytes.\n"
    )


def cookie_cost_markdown(cost):
    header = "profile | cookie bytes | load µs | ratio | load + save µs | ratio"
    rows = [
        f"`{name}` | {c['cookie_bytes']} | {c['load_us']} | {_ratio(c['load_ratio'])} | {c['load_save_us']} "
        f"| {_ratio(c['load_save_ratio'])}"
        for name, c in cost.items()
    ]
    return markdown_table(header, "lrrrrr", rows) + (
        "\nA typical signed-in session (auth keys, a Device id, three cart lines) through each engine's "
        "SessionStore, no server: opening the cookie (every signed-in request), and opening it and making "
        "a new one (a request that changes the session). Best of several interleaved rounds; the ratios "
        "are to the first row.\n"
    )


def rows_markdown(session_rows):
    header = (
        "database | live rows | expired rows | load() p50 / p99 µs, 1k rows | with the expired rows "
        "| after clearsessions | bulk insert s | clearsessions s | lookup plan"
    )
    rows = [
        f"{db} | {r['live_rows']:,} | {r['expired_rows']:,} | {_us(r['small'])} | {_us(r['large'])} "
        f"| {_us(r['after_clear'])} | {r['insert_seconds']} | {r['clearsessions_seconds']} | `{r['plan']}`"
        for db, r in session_rows.items()
    ]
    return markdown_table(header, "lrrrrrrrl", rows)


def _us(timing):
    return f"{timing['p50_us']:.0f} / {timing['p99_us']:.0f}"


def replace_generated(document, generated, begin=DOC_BEGIN, end=DOC_END):
    """Swap the text between the markers; the rest of the document is written by hand."""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    block = f"{begin}\n{generated.strip()}\n{end}"
    if not pattern.search(document):
        return document.rstrip() + "\n\n" + block + "\n"
    return pattern.sub(lambda _: block, document)
