"""Running cells: wrk runs in interleaved rounds, with the CPU they cost on the whole box.

Rounds are interleaved (every cell once, then every cell again) so that a burst of load from
elsewhere on a shared machine spreads over all cells instead of sinking one. Besides wrk's
figures, each run records the CPU time that serving it took: every process of the stack
(nginx, gunicorn, redis, postgres) from /proc, plus wrk itself and this process (which
relays the servers' access logs). Other programs on the machine change req/s a lot but CPU
per request little, so the CPU ratio is the steadier estimate of what a quiet machine gives.
"""

import os
import resource
import statistics
import time

from .stages import CELLS, cell_requests
from .wrk import run_wrk, write_requests

TICKS = os.sysconf("SC_CLK_TCK")


def run_cells(prepared_stages, options, folder, say):
    plans = []
    for prepared in prepared_stages:
        for name in prepared.spec.cells:
            path = folder / f"{prepared.spec.name}-{name}.requests"
            plans.append((prepared, name, write_requests(path, cell_requests(name, prepared))))
    if options["warmup"]:
        for prepared, name, path in plans:
            if name != "nginx":  # templates, connections and caches warm in every worker
                run_wrk(prepared.stack.url, path, options["warmup"], options["connections"])
    collected = {(prepared.spec.name, name): [] for prepared, name, _ in plans}
    for round_number in range(1, options["runs"] + 1):
        for prepared, name, path in plans:
            result = measured_run(prepared.stack, path, options)
            collected[(prepared.spec.name, name)].append(result)
            say(
                f"  {prepared.spec.name:<14} {name:<8} run {round_number}/{options['runs']} "
                f"{result['rps']:>9.1f} req/s  p50 {result['p50_ms']:>7.2f} ms  "
                f"p99 {result['p99_ms']:>8.2f} ms  {result['cpu_ms']:>6.2f} CPU ms/req  "
                f"errors {result['errors']}"
            )
    for prepared in prepared_stages:
        spec = prepared.spec
        cells = {name: summarize(collected[(spec.name, name)]) for name in spec.cells}
        baseline = cells.get("healthz")
        for name, cell in cells.items():
            cell["label"] = CELLS[name]
            cell["ratio"] = round(cell["rps"] / baseline["rps"], 3) if baseline and baseline["rps"] else None
            cell["cpu_ratio"] = (
                round(baseline["cpu_ms"] / cell["cpu_ms"], 3) if baseline and cell["cpu_ms"] else None
            )
        spec.results["cells"] = cells


def measured_run(stack, requests_file, options):
    before, own, children = stack_cpu(stack), time.process_time(), _children_cpu()
    result = run_wrk(stack.url, requests_file, options["duration"], options["connections"])
    after = stack_cpu(stack)
    split = {
        "stack": sum(after[pid] - before[pid] for pid in after if pid in before),
        "wrk": _children_cpu() - children,
        "bench": time.process_time() - own,
    }
    requests = max(result["requests"], 1)
    result["cpu_ms"] = round(sum(split.values()) * 1000 / requests, 3)
    result["cpu_split_ms"] = {key: round(value * 1000 / requests, 3) for key, value in split.items()}
    return result


def stack_cpu(stack):
    """CPU seconds so far of every process of the stack, by pid."""
    seconds = {}
    for pids in stack.pids().values():
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return seconds


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarize(runs):
    rps = [run["rps"] for run in runs]
    median = statistics.median(rps)
    return {
        "runs": runs,
        "rps": round(median, 1),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "spread_pct": round(100 * (max(rps) - min(rps)) / median, 1) if median else None,
        "p50_ms": round(statistics.median(run["p50_ms"] for run in runs), 2),
        "p99_ms": round(statistics.median(run["p99_ms"] for run in runs), 2),
        "cpu_ms": round(statistics.median(run["cpu_ms"] for run in runs), 3),
        "errors": sum(run["errors"] for run in runs),
        "status_errors": sum(run["status_errors"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
    }


def worker_memory(stack):
    """VmRSS (and PSS, which counts pages shared after the fork once) of every gunicorn worker, in MB."""
    workers = []
    for server in stack.servers:
        for pid in server.worker_pids:
            try:
                rss = _kilobytes(f"/proc/{pid}/status", "VmRSS:")
                pss = _kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:")
            except OSError:
                continue
            workers.append(
                {
                    "server": server.name,
                    "pid": pid,
                    "rss_mb": round(rss / 1024, 1),
                    "pss_mb": round(pss / 1024, 1),
                }
            )
    rss = [worker["rss_mb"] for worker in workers] or [0]
    return {"workers": workers, "max_rss_mb": max(rss), "mean_rss_mb": round(statistics.mean(rss), 1)}


def _kilobytes(path, key):
    with open(path) as file:
        for line in file:
            if line.startswith(key):
                return int(line.split()[1])
    return 0
