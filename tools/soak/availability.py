"""How unavailable the shop was around each fault, from the history alone.

A fault is *on* from its start until it ended and the stack was whole again (``healed``; a kill
is over when the killed part serves again). Its *window* runs from its start to the next fault's
start (or the end of the run): what it caused, as long as nothing else happened.
"""

from .history import unavailable


def longest_unavailable(ops):
    """The longest stretch, in seconds, in which requests failed and none succeeded: from the start
    of the first failed request to the end of the last one before a request succeeded again."""
    longest, stretch = 0.0, None
    for op in sorted(ops, key=lambda op: op["end"]):
        if unavailable(op):
            stretch = (stretch[0] if stretch else op["start"], op["end"])
            longest = max(longest, stretch[1] - stretch[0])
        else:
            stretch = None
    return round(longest, 2)


def per_fault(history):
    ops, faults = history["ops"], sorted(history["faults"], key=lambda f: f["start"])
    rows = []
    for k, fault in enumerate(faults):
        until = faults[k + 1]["start"] if k + 1 < len(faults) else history["seconds"]
        on_end = max(fault["end"] or fault["start"], fault["healed"] or 0)
        during = [op for op in ops if op["start"] <= on_end and op["end"] >= fault["start"]]
        window = [op for op in ops if fault["start"] <= op["end"] <= until]
        down = sum(map(unavailable, during))
        rows.append(
            {
                "kind": fault["kind"],
                "target": fault["target"],
                "start": fault["start"],
                "on_seconds": round(on_end - fault["start"], 2),
                "requests": len(during),
                "unavailable": down,
                "share": round(down / len(during), 3) if during else 0.0,
                "longest_unavailable": longest_unavailable(window),
                "ok": fault.get("ok", True),
                "note": fault.get("note", ""),
            }
        )
    return rows
