"""The optimization report as one self-contained HTML page: no script, no network, charts as
inline SVG. It renders ``report.json`` (``thrifty report``), so the page and the JSON never
disagree: the Pareto chart, a before/after table, the monthly bill by category, the per-layer
and per-tensor breakdown of the chosen model, and its recipe."""

from __future__ import annotations

from html import escape
from typing import Any

from thrifty.datasets.metrics import Metric
from thrifty.report.text import human_bytes, money, runs_as

WIDTH, HEIGHT, PAD = 640, 360, 56
COLORS = {"best": "#d1495b", "front": "#2e86ab", "other": "#9aa5b1", "baseline": "#222"}


def render(report: dict[str, Any]) -> str:
    base, best = report["baseline"], report["best"]
    recipe = best["trial"]["recipe"] or "none: the model as it is"
    sections = [
        f"<h1>thrifty optimize</h1><p class=lead>The cheapest version by "
        f"<b>{escape(report['objective'])}</b> within {report['max_drop']} of the original's "
        f"quality (validation split), every candidate measured as deployed. Chosen recipe: "
        f"<code>{escape(recipe)}</code>.</p>",
        "<h2>Before and after</h2>" + _before_after(base, best),
        "<h2>Every candidate</h2>" + _pareto(report) + _candidates(report),
        "<h2>Monthly bill by category</h2>" + _bill_chart(base, best),
        "<h2>How the chosen model runs cheapest</h2>" + _deployments(best),
        "<h2>The chosen model, layer by layer</h2>" + _layers(best) + _tensors(best),
        "<h2>Per-layer sensitivity</h2><p>Quality lost by pruning each layer of the original "
        "alone, before fine-tuning: the search's first stage, which chose the pruning strengths "
        "it tried.</p>" + _sensitivity(report.get("sensitivity", [])),
    ]
    return PAGE.format(body="\n".join(sections))


def _quality(m: dict[str, Any]) -> str:
    return Metric(m["metric"]).format(m["test"])


def _before_after(base: dict[str, Any], best: dict[str, Any]) -> str:
    rows = [
        ("test " + base["metric"], _quality(base), _quality(best), ""),
        ("bytes shipped", f"{base['bytes']:,}", f"{best['bytes']:,}",
         f"{base['bytes'] / max(best['bytes'], 1):.1f}x smaller"),
        ("$ per million inferences", money(base["usd_per_million"]),
         money(best["usd_per_million"]),
         f"{base['usd_per_million'] / max(best['usd_per_million'], 1e-12):.2f}x cheaper"),
        ("$ per month", money(base["usd_per_month"]), money(best["usd_per_month"]), ""),
        ("latency p50, batch 1", f"{base['latency_ms']:.3f} ms", f"{best['latency_ms']:.3f} ms",
         ""),
        ("runs as", _runs_as(base), _runs_as(best), ""),
    ]  # fmt: skip
    return _table(("", "original", "chosen", ""), rows)


def _pareto(report: dict[str, Any]) -> str:
    """Test quality against $ per million: every candidate a dot, the front joined."""
    points = [("baseline", report["baseline"])]
    for c in report["candidates"]:
        kind = "front" if c["pareto"] else "other"
        points.append((kind, c))
    best = report["best"]
    xs = [m["usd_per_million"] for _, m in points]
    ys = [m["test"] for _, m in points]
    sx, sy = (
        _scale(min(xs), max(xs), PAD, WIDTH - PAD // 2),
        _scale(min(ys), max(ys), HEIGHT - PAD, PAD // 2),
    )
    marks = []
    for kind, m in points:
        chosen = m["trial"] == best["trial"]
        color = COLORS["best" if chosen else kind]
        label = escape(m["trial"]["recipe"] or "original")
        marks.append(
            f'<circle class="point {kind}" cx="{sx(m["usd_per_million"]):.1f}" '
            f'cy="{sy(m["test"]):.1f}" r="{7 if chosen else 5}" fill="{color}">'
            f"<title>{label}: {_quality(m)}, {money(m['usd_per_million'])} per million, "
            f"{m['bytes']:,} bytes</title></circle>"
        )
    front = sorted(((m["usd_per_million"], m["test"]) for k, m in points if k != "other"))
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in front)
    axes = _axes(min(xs), max(xs), min(ys), max(ys), sx, sy, "$ per million inferences",
                 "test " + report["baseline"]["metric"])  # fmt: skip
    return (
        f'<svg class="chart pareto" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img"><title>Pareto chart</title>{axes}'
        f'<polyline points="{path}" fill="none" stroke="{COLORS["front"]}" '
        f'stroke-dasharray="4 3"/>{"".join(marks)}</svg>'
        "<p class=note>Red: the chosen model; blue: the Pareto front (no candidate is as good on "
        "quality, money and bytes and better on one); grey: the rest; black: the original.</p>"
    )


def _bill_chart(base: dict[str, Any], best: dict[str, Any]) -> str:
    """Stacked bars: compute, storage and bandwidth per month, original against chosen."""
    categories = (("compute_usd", "#2e86ab"), ("storage_usd", "#f6ae2d"),
                  ("bandwidth_usd", "#86bbd8"))  # fmt: skip
    top = max(base["bill"]["total_usd"], best["bill"]["total_usd"], 1e-12)
    bars, height = [], 220
    for index, (name, m) in enumerate((("original", base), ("chosen", best))):
        x, y = 120 + index * 200, height
        for key, color in categories:
            h = m["bill"][key] / top * (height - 30)
            y -= h
            bars.append(
                f'<rect class="bar" x="{x}" y="{y:.1f}" width="90" height="{h:.1f}" '
                f'fill="{color}"><title>{key[:-4]}: {money(m["bill"][key])}</title></rect>'
            )
        bars.append(f'<text x="{x + 45}" y="{height + 18}" text-anchor="middle">{name}: '
                    f"{money(m['bill']['total_usd'])}</text>")  # fmt: skip
    legend = "".join(
        f'<rect x="470" y="{40 + 22 * i}" width="14" height="14" fill="{color}"/>'
        f'<text x="490" y="{52 + 22 * i}">{key[:-4]}</text>'
        for i, (key, color) in enumerate(categories)
    )
    return (
        f'<svg class="chart bill" viewBox="0 0 {WIDTH} 250" width="{WIDTH}" height="250" '
        f'role="img"><title>Monthly bill</title>{"".join(bars)}{legend}</svg>'
    )


def _candidates(report: dict[str, Any]) -> str:
    rows = []
    for c in report["candidates"]:
        rows.append((
            escape(c["trial"]["recipe"]), str(c["trial"]["epochs"]), _quality(c),
            f"{c['drop_test']:+.2f}", f"{c['bytes']:,}", money(c["usd_per_million"]),
            _runs_as(c), "yes" if c["pareto"] else "",
        ))  # fmt: skip
    return _table(("recipe", "epochs", "test quality", "drop", "bytes", "$ / million",
                   "runs as", "front"), rows)  # fmt: skip


def _runs_as(m: dict[str, Any]) -> str:
    return escape(runs_as(m.get("deployment") or {}))


def _deployments(best: dict[str, Any]) -> str:
    rows = [(escape(d["runtime"]), str(d["threads"]), str(d["batch_size"]),
             f"{d['samples_per_s']:,.0f}", f"{d['latency_ms']:.3f} ms",
             money(d["usd_per_million"]), escape(", ".join(d.get("sparse_layers", []))))
            for d in best.get("deployments", [])]  # fmt: skip
    return _table(("runtime", "threads", "batch", "samples / s", "latency p50",
                   "$ / million", "sparse layers"), rows)  # fmt: skip


def _sensitivity(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>No layer PyTorch can prune (the model was scanned as given).</p>"
    grid = list(rows[0]["drops"])
    body = [(escape(r["layer"]), f"{r['params']:,}", *(f"{r['drops'][g]:+.2f}" for g in grid))
            for r in rows]  # fmt: skip
    return _table(("layer", "weights", *(f"{float(g):.0%} zeros" for g in grid)), body)


def _layers(best: dict[str, Any]) -> str:
    rows = [(escape(x["name"]), x["op"], f"{x['params']:,}", f"{x['flops']:,}")
            for x in best.get("layers", [])]  # fmt: skip
    return _table(("layer", "op", "parameters", "FLOPs per sample"), rows)


def _tensors(best: dict[str, Any]) -> str:
    rows = [(escape(t["name"]), "x".join(map(str, t["shape"])), escape(t["encoding"]),
             human_bytes(t["bytes"]), f"{t['bits_per_weight']:.2f}", f"{t['sparsity']:.1%}")
            for t in best.get("tensors", [])]  # fmt: skip
    return _table(("tensor", "shape", "encoding", "bytes", "bits / weight", "zeros"), rows)


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _scale(low: float, high: float, start: float, stop: float):
    span = (high - low) or abs(high) or 1.0
    low, high = low - span * 0.08, high + span * 0.08
    return lambda v: start + (v - low) / (high - low) * (stop - start)


def _axes(x0, x1, y0, y1, sx, sy, xlabel: str, ylabel: str) -> str:
    ticks = []
    for i in range(5):
        x, y = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        ticks.append(f'<text x="{sx(x):.1f}" y="{HEIGHT - PAD + 18}" text-anchor="middle">'
                     f"{money(x)}</text>")  # fmt: skip
        ticks.append(f'<text x="{PAD - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
    return (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD // 2}" y2="{HEIGHT - PAD}" '
        f'stroke="#444"/><line x1="{PAD}" y1="{PAD // 2}" x2="{PAD}" y2="{HEIGHT - PAD}" '
        f'stroke="#444"/>{"".join(ticks)}'
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">{xlabel}</text>'
        f'<text x="14" y="{HEIGHT / 2}" transform="rotate(-90 14 {HEIGHT / 2})" '
        f'text-anchor="middle">{ylabel}</text>'
    )


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>thrifty optimize report</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 980px; margin: 2em auto;
       padding: 0 1em; color: #1d2731; }}
h1 {{ font-size: 1.6em; }} h2 {{ margin-top: 1.8em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: .8em 0; }}
th, td {{ padding: .25em .7em; border-bottom: 1px solid #eee; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
code {{ background: #f3f5f7; padding: .1em .3em; }} .note {{ color: #555; font-size: .9em; }}
svg text {{ font-size: 11px; fill: #333; }}
</style></head><body>
{body}
</body></html>
"""
