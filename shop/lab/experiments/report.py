"""The lab's results: a JSON record, a text (and Markdown) matrix, and the files in ``results/``.

Each run writes ``sessionlab-<UTC time>.json`` and ``.html`` and copies them to ``latest.json``
and ``latest.html``, which the /lab/ page links.
"""

import json
import platform
import shutil
from datetime import UTC, datetime

import django
from django.conf import settings

from .html import render_html

RESULTS_DIR = settings.BASE_DIR / "results"
LATEST_HTML = "latest.html"
FORMAT_VERSION = 1


def build(cells, options, command, started, finished, complete):
    """Everything the run measured, as JSON-ready data."""
    return {
        "format": FORMAT_VERSION,
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 1),
        "complete": complete,
        "setup": {
            "servers": options.servers,
            "workers": options.workers,
            "balance": "round_robin",
            "db": options.db,
            "probes": options.probes,
            "trials": options.trials,
            "quick": options.quick,
            "host": platform.node(),
            "python": platform.python_version(),
            "django": django.get_version(),
        },
        "profiles": list(options.profiles),
        "scenarios": [
            {"number": s.number, "key": s.key, "title": s.title, "question": s.question}
            for s in options.scenarios
        ],
        "cells": [cell.as_json() for cell in cells],
    }


def cell_at(report, profile, number):
    return next((c for c in report["cells"] if c["profile"] == profile and c["scenario"] == number), None)


def legend(report):
    """What each count of a scenario's cell means: the part labels of its first measured cell."""
    meanings = {}
    for scenario in report["scenarios"]:
        for profile in report["profiles"]:
            cell = cell_at(report, profile, scenario["number"])
            if cell and cell["status"] == "measured":
                meanings[scenario["number"]] = [part["label"] for part in cell["parts"]]
                break
    return meanings


def matrix_rows(report):
    header = ["profile", *(f"{s['number']} {s['title']}" for s in report["scenarios"])]
    rows = []
    for profile in report["profiles"]:
        cells = [cell_at(report, profile, s["number"]) for s in report["scenarios"]]
        rows.append([profile, *(cell["summary"] if cell else "" for cell in cells)])
    return header, rows


def matrix_text(report):
    """The matrix as an aligned Markdown table, with the legend: for the console and for docs."""
    header, rows = matrix_rows(report)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    lines = [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
    lines += [line(row) for row in rows]
    lines.append("")
    lines.append("✓ all kept, ◐ some, ✗ none; each count is good/total requests (or trials) really made:")
    titles = {s["number"]: s["title"] for s in report["scenarios"]}
    for number, labels in legend(report).items():
        lines.append(f"- {number} {titles[number]}: " + "; ".join(labels))
    return "\n".join(lines)


def write(report, folder=RESULTS_DIR):
    """Write the JSON and HTML of this run and refresh ``latest.*``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(report["started"]).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    paths = {"json": folder / f"sessionlab-{stamp}.json", "html": folder / f"sessionlab-{stamp}.html"}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    paths["html"].write_text(render_html(report, matrix_rows(report), legend(report)))
    paths["latest_json"] = folder / "latest.json"
    paths["latest_html"] = folder / LATEST_HTML
    shutil.copyfile(paths["json"], paths["latest_json"])
    shutil.copyfile(paths["html"], paths["latest_html"])
    return paths
