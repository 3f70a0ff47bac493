"""Running cells: wrk runs in interleaved rounds, with the CPU they cost on the whole box.

Rounds are interleaved (every cell once, then every cell again) so that a burst of load from
elsewhere on a shared machine spreads over all cells instead of sinking one. Besides wrk's
figures, each run records the CPU time that serving it took: every process of the stack
(nginx, gunicorn, redis, postgres) from /proc, plus wrk itself and this process (which
relays the servers' access logs). Other programs on the machine change req/s a lot but CPU
per request little, so the CPU ratio is the steadier estimate of what a quiet machine gives.
"""

import collections
import os
import resource
import statistics
import time

from .stages import CELLS
from .wrk import run_wrk

TICKS = os.sysconf("SC_CLK_TCK")


def run_cells(stages, options, folder, say):
    """Every cell of every stage, ``options["runs"]`` times; summaries go to ``stage.results["cells"]``."""
    plans = []
    for stage in stages:
        for name in stage.cells:
            path = folder / f"{stage.name}-{name}.requests"
            path.write_text("".join(request.line() for request in stage.requests(name)))
            plans.append((stage, name, path))
    for stage, name, path in plans:
        if options["warmup"] and name != "nginx":  # templates, connections and caches warm in every worker
            stage.before_run(name, path)
            run_wrk(
                stage.stack.url, path, options["warmup"], options["connections"], stage.cookie_to_follow(name)
            )
    runs = collections.defaultdict(list)
    for round_number in range(1, options["runs"] + 1):
        for stage, name, path in plans:
            stage.before_run(name, path)  # before the run's CPU is counted
            result = measured_run(stage.stack, path, options, stage.cookie_to_follow(name))
            runs[stage.name, name].append(result)
            say(
                f"  {stage.name:<14} {name:<8} run {round_number}/{options['runs']} "
                f"{result['rps']:>9.1f} req/s  p50 {result['p50_ms']:>7.2f} ms  "
                f"p99 {result['p99_ms']:>8.2f} ms  {result['cpu_ms']:>6.2f} CPU ms/req  "
                f"errors {result['errors']}"
            )
    for stage in stages:
        cells = {name: summarize(runs[stage.name, name]) for name in stage.cells}
        baseline = cells["healthz"]  # every stage measures it, whatever --cells says
        for name, cell in cells.items():
            cell["label"] = CELLS[name]
            cell["ratio"] = ratio(cell["rps"], baseline["rps"])
            cell["cpu_ratio"] = ratio(baseline["cpu_ms"], cell["cpu_ms"])
        stage.results["cells"] = cells


def ratio(numerator, denominator):
    return round(numerator / denominator, 3) if denominator else None


def measured_run(stack, requests_file, options, follow=None):
    before, own, children = stack_cpu(stack), time.process_time(), children_cpu()
    result = run_wrk(stack.url, requests_file, options["duration"], options["connections"], follow)
    after = stack_cpu(stack)
    split = {
        "stack": sum(after[pid] - before[pid] for pid in after if pid in before),
        "wrk": children_cpu() - children,
        "bench": time.process_time() - own,
    }
    requests = max(result["requests"], 1)
    result["cpu_ms"] = round(sum(split.values()) * 1000 / requests, 3)
    result["cpu_split_ms"] = {key: round(value * 1000 / requests, 3) for key, value in split.items()}
    return result


def stack_cpu(stack):
    """CPU seconds so far of every process of the stack, by pid."""
    seconds = {}
    for pid in (pid for pids in stack.pids().values() for pid in pids):
        try:
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return seconds


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarize(runs):
    def median(key):
        return statistics.median(run[key] for run in runs)

    rps = [run["rps"] for run in runs]
    return {
        "runs": runs,
        "rps": round(median("rps"), 1),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "spread_pct": round(100 * (max(rps) - min(rps)) / median("rps"), 1) if median("rps") else None,
        "p50_ms": round(median("p50_ms"), 2),
        "p99_ms": round(median("p99_ms"), 2),
        "cpu_ms": round(median("cpu_ms"), 3),
        **{key: sum(run[key] for run in runs) for key in ("errors", "status_errors", "socket_errors")},
    }


def worker_memory(stack):
    """VmRSS (and PSS, which counts pages shared after the fork once) of every gunicorn worker, in MB."""
    workers = []
    for server in stack.servers:
        for pid in server.worker_pids:
            try:
                rss = kilobytes(f"/proc/{pid}/status", "VmRSS:") / 1024
                pss = kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:") / 1024
            except OSError:  # the worker has just exited
                continue
            workers.append(
                {"server": server.name, "pid": pid, "rss_mb": round(rss, 1), "pss_mb": round(pss, 1)}
            )
    rss = [worker["rss_mb"] for worker in workers] or [0]
    return {"workers": workers, "max_rss_mb": max(rss), "mean_rss_mb": round(statistics.mean(rss), 1)}


def kilobytes(path, key):
    with open(path) as file:
        return next((int(line.split()[1]) for line in file if line.startswith(key)), 0)
