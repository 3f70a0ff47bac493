"""The self-contained HTML report: an inline SVG matrix, the table, and every cell's story.

No script and no external asset: the file opens from disk, and /lab/report/ serves it as is.
"""

import json
from html import escape

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1d2327; max-width: 1100px; margin: 2rem auto;
       padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
code, pre { font: 13px/1.4 ui-monospace, monospace; background: #f4f5f6; border-radius: 3px; }
code { padding: 0 .25em; } pre { padding: .6rem; overflow-x: auto; max-height: 24rem; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { border: 1px solid #ddd; padding: .3rem .6rem; }
th { background: #f4f5f6; text-align: left; }
td.kept { background: #e3f4ea; } td.lost { background: #fbe3e1; }
td.partial { background: #fdf1dc; } td.na { color: #888; } td.error { background: #ddd; }
.meta { color: #555; } .warning { background: #fdf1dc; padding: .5rem; border-left: 4px solid #e6a23c; }
.cell { margin: 1rem 0 1.4rem; } .cell p { margin: .25rem 0; } .why { color: #34495e; }
svg { max-width: 100%; height: auto; } svg text { font-family: system-ui, sans-serif; }
"""
RED, AMBER, GREEN = (192, 57, 43), (230, 162, 60), (46, 139, 87)


def color(fraction):
    """Red at 0, amber at one half, green at 1."""
    low, high, f = (RED, AMBER, fraction * 2) if fraction < 0.5 else (AMBER, GREEN, fraction * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(low, high, strict=True))


def find(report, profile, number):
    return next((c for c in report["cells"] if c["profile"] == profile and c["scenario"] == number), None)


def heatmap(report):
    """One row per profile, one column per scenario, one coloured box per count of a cell."""
    profiles, scenarios = report["profiles"], report["scenarios"]
    left, top, ch = 120, 48, 42
    widths = []
    for scenario in scenarios:
        cells = [find(report, profile, scenario["number"]) for profile in profiles]
        parts = max((len(c["parts"]) for c in cells if c and c["status"] == "measured"), default=1)
        widths.append(max(132, 50 * parts))
    width, height = left + sum(widths), top + ch * len(profiles)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Session continuity per profile and scenario">'
    ]
    x = left
    for scenario, cw in zip(scenarios, widths, strict=True):
        out.append(
            f'<text x="{x + cw / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">'
            f"{scenario['number']}</text>"
        )
        title = escape(scenario["title"])
        out.append(f'<text x="{x + cw / 2}" y="36" text-anchor="middle" font-size="12">{title}</text>')
        for i, profile in enumerate(profiles):
            out.extend(
                cell_svg(find(report, profile, scenario["number"]), x + 2, top + i * ch + 2, cw - 4, ch - 4)
            )
        x += cw
    for i, profile in enumerate(profiles):
        out.append(
            f'<text x="{left - 8}" y="{top + i * ch + ch / 2 + 4}" text-anchor="end" font-size="13">'
            f"{escape(profile)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def cell_svg(cell, x, y, w, h):
    if cell is None or cell["status"] != "measured":
        status = cell["status"] if cell else "not run"
        fill, ink = ("#555", "#fff") if status == "error" else ("#eceff1", "#777")
        return [
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="3" fill="{fill}"/>',
            f'<text x="{x + w / 2}" y="{y + h / 2 + 4}" text-anchor="middle" font-size="12" '
            f'fill="{ink}">{escape(status)}</text>',
        ]
    parts = cell["parts"]
    sub = w / len(parts)
    size = 12 if sub >= 56 else 11
    out = []
    for k, part in enumerate(parts):
        fraction = part["good"] / part["total"] if part["total"] else 0
        left = x + k * sub
        out.append(
            f'<rect x="{left + 1:.1f}" y="{y}" width="{sub - 2:.1f}" height="{h}" rx="3" '
            f'fill="{color(fraction)}"><title>{escape(part["label"])}: {part["good"]}/{part["total"]}'
            "</title></rect>"
        )
        out.append(
            f'<text x="{left + sub / 2:.1f}" y="{y + h / 2 + 4}" text-anchor="middle" '
            f'font-size="{size}" fill="#fff">{part["good"]}/{part["total"]}</text>'
        )
    return out


def table(header, rows, report):
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        profile = row[0]
        tds = [f"<th>{escape(profile)}</th>"]
        for scenario, text in zip(report["scenarios"], row[1:], strict=True):
            cell = find(report, profile, scenario["number"])
            verdict = cell["verdict"] if cell else "n/a"
            css = {"n/a": "na"}.get(verdict, verdict)
            tds.append(f'<td class="{css}">{escape(text)}</td>')
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def cell_story(cell):
    out = [f'<div class="cell"><h3>{escape(cell["profile"])} <code>{escape(cell["summary"])}</code></h3>']
    if cell["line"]:
        out.append(f"<p>{escape(cell['line'])}</p>")
    if cell["note"]:
        out.append(f'<p class="why">{escape(cell["note"])}</p>')
    if cell["stacks"]:
        out.append(f'<p class="meta">Stacks: {escape("; ".join(cell["stacks"]))} · {cell["seconds"]} s</p>')
    if cell["details"]:
        raw = escape(json.dumps(cell["details"], indent=1, ensure_ascii=False))
        out.append(f"<details><summary>Every measurement</summary><pre>{raw}</pre></details>")
    out.append("</div>")
    return "\n".join(out)


def render_html(report, matrix, legend):
    header, rows = matrix
    setup = report["setup"]
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Session lab results · {escape(report['started'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Session lab: where should the session live?</h1>",
        f'<p class="meta">Run {escape(report["started"])} on {escape(setup["host"])}, {report["seconds"]} s: '
        f"<code>{escape(report['command'])}</code><br>{setup['servers']} servers x {setup['workers']} "
        "workers behind nginx (round robin unless a scenario says otherwise), "
        f"database {escape(setup['db'])}, "
        f"{setup['probes']} probes, {setup['trials']} trials; Python {escape(setup['python'])}, "
        f"Django {escape(setup['django'])}.</p>",
    ]
    if not report["complete"]:
        out.append(
            '<p class="warning">This run was interrupted: the cells below are the ones it finished.</p>'
        )
    out += [
        "<p>Every count is good/total requests (or trials) that really went through nginx to the servers; "
        "nothing is filled in from expectations. Green: the server still knew the shopper (same login, "
        "same cart); red: it did not.</p>",
        heatmap(report),
        table(header, rows, report),
        "<ul>",
        *(
            f"<li><strong>{number}</strong>: {escape('; '.join(labels))}</li>"
            for number, labels in legend.items()
        ),
        "</ul>",
    ]
    for scenario in report["scenarios"]:
        out.append(f"<h2>{scenario['number']}. {escape(scenario['title'])}</h2>")
        out.append(f"<p>{escape(scenario['question'])}</p>")
        for cell in report["cells"]:
            if cell["scenario"] == scenario["number"]:
                out.append(cell_story(cell))
    out.append("</body></html>\n")
    return "\n".join(out)
