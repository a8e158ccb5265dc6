"""The optimization report as one self-contained HTML page: no script, no network, charts as
inline SVG. It renders the same record as report.json (``thrifty report`` renders the file's),
so the page and the JSON never disagree: what it is about (model, data, prices, workload, time,
machine), the Pareto chart, a before/after table, the monthly bill by category, the per-layer
and per-tensor breakdown of the chosen model, and its recipe.

It imports no numeric library, so that ``thrifty report`` starts in a fraction of a second.
"""

from __future__ import annotations

from html import escape
from typing import Any

from thrifty.datasets.metrics import Metric
from thrifty.report.candidate import Candidate
from thrifty.report.record import Report
from thrifty.report.text import runs_as
from thrifty.units import human_bytes, money

WIDTH, HEIGHT, PAD = 640, 360, 64
COLORS = {"best": "#d1495b", "front": "#2e86ab", "other": "#9aa5b1", "baseline": "#222"}
CHAR, LINE = 6.2, 12  # a chart label's character width and line height, in pixels
LABEL = 30  # characters of a recipe a chart label shows; its tooltip has all of it


def render(report: Report) -> str:
    base, best = report.baseline, report.best
    sections = [
        _head(report),
        "<h2>Before and after</h2>" + _before_after(base, best),
        "<h2>Every candidate</h2>"
        + _pareto(report)
        + _rule(report)
        + _candidates(report)
        + _not_applicable(report.not_applicable),
        "<h2>Monthly bill by category</h2>" + _bill_chart(base, best),
        "<h2>How the chosen model runs cheapest</h2>" + _deployments(best),
        "<h2>The chosen model, layer by layer</h2>" + _layers(best) + _tensors(best),
        "<h2>Per-layer sensitivity</h2>" + _sensitivity(report.sensitivity, _unit(report)),
    ]
    return PAGE.format(body="\n".join(sections))


def _head(report: Report) -> str:
    model = report.about.get("model", {}).get("name")
    title = "thrifty optimize" + (f": {escape(model)}" if model else "")
    recipe = report.best.recipe or "none: the model as it is"
    return (
        f"<h1>{title}</h1><p class=lead>The cheapest version by "
        f"<b>{escape(report.objective)}</b> within {_budget(report)} of the original's "
        f"quality (validation split), every candidate measured as deployed. Chosen recipe: "
        f"<code>{escape(recipe)}</code>.</p>" + _about(report.about)
    )


def _not_applicable(skipped: dict[str, str]) -> str:
    """The recipes the model gave nothing to act on, and why: not tried, so not in the table."""
    items = "".join(f"<li><code>{escape(r)}</code>: {escape(w)}</li>" for r, w in skipped.items())
    return f"<p>Not tried, as they do not apply to this model:</p><ul>{items}</ul>" if items else ""


def _budget(report: Report) -> str:
    """The quality budget in its unit: ``0.5 points of accuracy``, ``0.2 of rmse``."""
    metric = Metric(report.baseline.metric)
    points = " points" if metric.is_share else ""
    return f"{report.max_drop:g}{points} of {escape(metric.spec)}"


def _about(about: dict[str, Any]) -> str:
    """What was optimized, on what, at which prices, for how long, where: a table (none for
    a report made without it, as tests make them)."""
    if not about:
        return ""
    model, data, work, machine = about["model"], about["data"], about["workload"], about["machine"]
    rows = data["rows"]
    steps = "; ".join(_step(step) for step in data["preprocessing"]) or "none (rows as given)"
    first = "; ".join(_step(step) for step in model.get("preprocessing", []))
    vector = " ".join(machine["vector"]) or "none of AVX2, AVX-512 or NEON"
    facts = [
        ("model", f"{escape(model['name'])} ({escape(model['source'])}), "
                  f"{model['bytes']:,} bytes as ONNX"
                  + (f"; its first layer applies {escape(first)}" if first else "")),
        ("data", f"{escape(data['name'])} ({escape(data['source'])}): {rows['train']:,} "
                 f"training, {rows['val']:,} validation and {rows['test']:,} test rows; "
                 f"preprocessing: {escape(steps)}"),
        ("quality", f"{escape(about['metric'])}: chosen on the validation split, reported on "
                    "the test split"),
        ("prices", f"the {escape(about['pricing'])} pricing profile"),
        ("workload", f"{work['inferences_per_month']:,.0f} inferences a month on "
                     f"{work['replicas']} replicas; {work['deploys_per_month']} deploys a "
                     f"month, {work['versions_kept']} versions kept"),
        ("time", f"{about['seconds_used']:,.0f} s used of a {about['time_budget_s']:,.0f} s "
                 "time budget"),
        ("machine", f"{escape(machine['cpu'])}, {machine['cores']} cores; vector "
                    f"instructions: {vector}"),
        ("made", f"by thrifty {escape(about['thrifty'])} on "
                 f"{about['date'][:16].replace('T', ' ')} UTC"),
    ]  # fmt: skip
    body = "".join(f"<tr><th>{key}</th><td>{value}</td></tr>" for key, value in facts)
    return f"<table class=about><tbody>{body}</tbody></table>"


def _step(step: dict[str, Any]) -> str:
    """A preprocessing step in a few words: ``scale (factor 0.0625)``, ``standardize (mean:
    30 values, std: 30 values)``."""
    settings = [
        f"{key} {value:g}" if isinstance(value, int | float) else f"{key}: {len(value)} values"
        for key, value in step.items()
        if key != "step"
    ]
    return step["step"] + (f" ({', '.join(settings)})" if settings else "")


def _quality(m: Candidate) -> str:
    return Metric(m.metric).format(m.test)


def _before_after(base: Candidate, best: Candidate) -> str:
    rows = [
        ("test " + base.metric, _quality(base), _quality(best), ""),
        ("bytes shipped", f"{base.bytes:,}", f"{best.bytes:,}",
         f"{base.bytes / max(best.bytes, 1):.1f}x smaller"),
        ("$ per million inferences", money(base.usd_per_million), money(best.usd_per_million),
         f"{base.usd_per_million / max(best.usd_per_million, 1e-12):.2f}x cheaper"),
        ("$ per month", money(base.bill.total_usd), money(best.bill.total_usd), ""),
        ("latency p50, batch 1", f"{base.latency_ms:.3f} ms", f"{best.latency_ms:.3f} ms", ""),
        ("runs as", _runs_as(base), _runs_as(best), ""),
    ]  # fmt: skip
    return _table(("", "original", "chosen", ""), rows)


def _pareto(report: Report) -> str:
    """Test quality against $ per million: every candidate a dot, the front joined and labelled
    with its recipes, each dot's numbers in its tooltip."""
    base, best = report.baseline, report.best
    points = [("baseline", base)]
    for c in report.candidates:
        points.append(("front" if c in report.front else "other", c))
    xs = [m.usd_per_million for _, m in points]
    ys = [m.test for _, m in points]
    sx, sy = (
        _scale(min(xs), max(xs), PAD, WIDTH - PAD // 2),
        _scale(min(ys), max(ys), HEIGHT - PAD, PAD // 2),
    )
    marks, labels = [], []
    for kind, m in points:
        chosen = m == best
        x, y = sx(m.usd_per_million), sy(m.test)
        recipe = m.recipe or "original"
        marks.append(
            f'<circle class="point {kind}" cx="{x:.1f}" cy="{y:.1f}" r="{7 if chosen else 5}" '
            f'fill="{COLORS["best" if chosen else kind]}"><title>{escape(recipe)}: '
            f"{_quality(m)}, {money(m.usd_per_million)} per million, {m.bytes:,} bytes"
            "</title></circle>"
        )
        if kind != "other" or chosen:
            short = recipe if len(recipe) <= LABEL else recipe[: LABEL - 1] + "…"
            label = (x, y, ("chosen: " if chosen else "") + short)
            labels.insert(0 if chosen else len(labels), label)  # the chosen one's place first
    on_front = [(m.usd_per_million, m.test) for m in report.table if m in report.front]
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in sorted(on_front))
    metric = Metric(base.metric)
    axes = _axes(min(xs), max(xs), min(ys), max(ys), sx, sy, "$ per million inferences",
                 "test " + metric.spec, metric.format)  # fmt: skip
    return (
        f'<svg class="chart pareto" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img"><title>Pareto chart</title>{axes}'
        f'<polyline points="{path}" fill="none" stroke="{COLORS["front"]}" '
        f'stroke-dasharray="4 3"/>{"".join(marks)}{_labels(labels)}</svg>'
        "<p class=note>Red: the chosen model; blue: the Pareto front (no candidate is as good "
        "on validation quality, money and bytes and better on one), labelled with its recipes; "
        "grey: the rest; black: the original. Each dot's tooltip has its recipe and numbers.</p>"
    )


def _labels(labels: list[tuple[float, float, str]]) -> str:
    """Text beside each point, in the order given; a label with no free place is left to the
    point's tooltip."""
    placed: list[tuple[float, float, float]] = []  # baseline, left, right
    texts = []
    for x, y, text in labels:
        place = _free_place(x, y, len(text) * CHAR, placed)
        if place is None:
            continue
        side, base, left = place
        placed.append((base, left, left + len(text) * CHAR))
        anchor = "" if side > 0 else ' text-anchor="end"'
        texts.append(f'<text class="label" x="{x + 9 * side:.1f}" y="{base:.1f}"{anchor}>'
                     f"{escape(text)}</text>")  # fmt: skip
    return "".join(texts)


def _free_place(x: float, y: float, width: float, placed) -> tuple[int, float, float] | None:
    """Right of the point, else left of it, else a line above or below: the first place
    inside the chart that overlaps no placed label (side, baseline, left edge)."""
    for shift in (0, -LINE, LINE):
        for side in (1, -1):
            base, left = y + 4 + shift, x + 9 if side > 0 else x - 9 - width
            inside = left >= 0 and left + width <= WIDTH
            if inside and not any(abs(base - b) < LINE and left < right and start < left + width
                                  for b, start, right in placed):  # fmt: skip
                return side, base, left
    return None


def _bill_chart(base: Candidate, best: Candidate) -> str:
    """Stacked bars: compute, storage and bandwidth per month, original against chosen."""
    categories = (("compute_usd", "#2e86ab"), ("storage_usd", "#f6ae2d"),
                  ("bandwidth_usd", "#86bbd8"))  # fmt: skip
    top = max(base.bill.total_usd, best.bill.total_usd, 1e-12)
    bars, height = [], 220
    for index, (name, m) in enumerate((("original", base), ("chosen", best))):
        x, y = 120 + index * 200, height
        for key, color in categories:
            usd = getattr(m.bill, key)
            h = usd / top * (height - 30)
            y -= h
            bars.append(
                f'<rect class="bar" x="{x}" y="{y:.1f}" width="90" height="{h:.1f}" '
                f'fill="{color}"><title>{key[:-4]}: {money(usd)}</title></rect>'
            )
        bars.append(f'<text x="{x + 45}" y="{height + 18}" text-anchor="middle">{name}: '
                    f"{money(m.bill.total_usd)}</text>")  # fmt: skip
    legend = "".join(
        f'<rect x="470" y="{40 + 22 * i}" width="14" height="14" fill="{color}"/>'
        f'<text x="490" y="{52 + 22 * i}">{key[:-4]}</text>'
        for i, (key, color) in enumerate(categories)
    )
    return (
        f'<svg class="chart bill" viewBox="0 0 {WIDTH} 250" width="{WIDTH}" height="250" '
        f'role="img"><title>Monthly bill</title>{"".join(bars)}{legend}</svg>'
    )


def _rule(report: Report) -> str:
    return (
        "<p class=rule>The choice is made on the validation split; test is reported, never used "
        f"to choose. Drops are against the original, in {_unit(report)}; the budget is "
        f"{_budget(report)}, and greyed rows lost more than that on validation.</p>"
    )


def _unit(report: Report) -> str:
    metric = Metric(report.baseline.metric)
    return "percentage points" if metric.is_share else f"units of {escape(metric.spec)}"


def _candidates(report: Report) -> str:
    """The original, then every candidate: the chosen one marked, both splits' drops (the
    original's are none: it is what they are measured against)."""
    base, rows, classes = report.baseline, [], []
    for c in report.table:
        chosen = c == report.best
        kinds = ["chosen"] * chosen + ["over"] * (c not in report.within)
        classes.append(" ".join(kinds))
        mark = "<span class=mark>chosen</span> " if chosen else ""
        rows.append((
            mark + escape(c.recipe or "the model as it is"), str(c.epochs),
            f"{c.drop(base):+.2f}", f"{c.drop(base, 'test'):+.2f}", _quality(c), f"{c.bytes:,}",
            money(c.usd_per_million), _runs_as(c), "yes" if c in report.front else "",
        ))  # fmt: skip
    head = ("recipe", "epochs", "drop, validation", "drop, test", "test quality", "bytes",
            "$ / million", "runs as", "front")  # fmt: skip
    return _table(head, rows, classes, "candidates")


def _runs_as(m: Candidate) -> str:
    return escape(runs_as(m.deployment))


def _deployments(best: Candidate) -> str:
    rows = [(escape(d.runtime), str(d.threads), str(d.batch_size), f"{d.samples_per_s:,.0f}",
             f"{d.latency_ms:.3f} ms", money(d.usd_per_million),
             escape(", ".join(d.sparse_layers)))
            for d in best.deployments]  # fmt: skip
    return _table(("runtime", "threads", "batch", "samples / s", "latency p50",
                   "$ / million", "sparse layers"), rows)  # fmt: skip


def _sensitivity(rows: tuple[dict[str, Any], ...], unit: str) -> str:
    scans: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one table per scan's columns
    for row in rows:
        scans.setdefault(tuple(row["drops"]), []).append(row)
    int8 = any(_scanned_at(c).endswith("alone") for columns in scans for c in columns)
    said = (
        "<p>Quality lost by pruning each layer of the original alone"
        + (" (or running it alone in int8)" if int8 else "")
        + ", before fine-tuning, in " + unit + " on the validation split: the search's first "
        "stage, which chose the pruning strengths"
        + (" and the layers kept in float32" if int8 else "")
        + " it tried.</p>"
    )  # fmt: skip
    if not rows:
        return said + "<p>No layer PyTorch can prune (the model was scanned as given).</p>"
    return said + "".join(_scan(columns, part) for columns, part in scans.items())


def _scan(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    body = [(escape(r["layer"]), f"{r['params']:,}", *(f"{r['drops'][c]:+.2f}" for c in columns))
            for r in rows]  # fmt: skip
    return _table(("layer", "weights", *map(_scanned_at, columns)), body)


def _scanned_at(column: str) -> str:
    """A scan's column: a sparsity (``0.9``: "90% zeros") or a precision ("int8 alone")."""
    try:
        return f"{float(column):.0%} zeros"
    except ValueError:
        return f"{column} alone"


def _layers(best: Candidate) -> str:
    rows = [(escape(x.name), escape(x.op), f"{x.params:,}", f"{x.flops:,}")
            for x in best.layers]  # fmt: skip
    return _table(("layer", "op", "parameters", "FLOPs per sample"), rows)


def _tensors(best: Candidate) -> str:
    rows = [(escape(t.name), "x".join(map(str, t.shape)), escape(t.encoding),
             human_bytes(t.bytes), f"{t.bits_per_weight:.2f}", f"{t.sparsity:.1%}")
            for t in best.tensors]  # fmt: skip
    return _table(("tensor", "shape", "encoding", "bytes", "bits / weight", "zeros"), rows)


def _table(
    head: tuple[str, ...],
    rows: list[tuple[str, ...]],
    classes: list[str] | None = None,
    kind: str = "",
) -> str:
    """A table; ``classes``: one CSS class (or none) for each row, ``kind`` for the table."""
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        (f'<tr class="{name}">' if name else "<tr>")
        + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
        for row, name in zip(rows, classes or [""] * len(rows), strict=True)
    )  # fmt: skip
    table = f'<table class="{kind}">' if kind else "<table>"
    return f"{table}<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _scale(low: float, high: float, start: float, stop: float):
    span = (high - low) or abs(high) or 1.0
    low, high = low - span * 0.08, high + span * 0.08
    return lambda v: start + (v - low) / (high - low) * (stop - start)


def _axes(x0, x1, y0, y1, sx, sy, xlabel: str, ylabel: str, yformat) -> str:
    ticks = []
    xs = [x0 + (x1 - x0) * i / 4 for i in range(5)]
    for i, (x, label) in enumerate(zip(xs, _dollars(xs), strict=True)):
        y = y0 + (y1 - y0) * i / 4
        ticks.append(f'<text x="{sx(x):.1f}" y="{HEIGHT - PAD + 18}" text-anchor="middle">'
                     f"{label}</text>")  # fmt: skip
        ticks.append(f'<text x="{PAD - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">'
                     f"{yformat(y)}</text>")  # fmt: skip
    return (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD // 2}" y2="{HEIGHT - PAD}" '
        f'stroke="#444"/><line x1="{PAD}" y1="{PAD // 2}" x2="{PAD}" y2="{HEIGHT - PAD}" '
        f'stroke="#444"/>{"".join(ticks)}'
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">{xlabel}</text>'
        f'<text x="12" y="{HEIGHT / 2}" transform="rotate(-90 12 {HEIGHT / 2})" '
        f'text-anchor="middle">{ylabel}</text>'
    )


def _dollars(values: list[float]) -> list[str]:
    """Dollar labels with the decimals it takes to tell them apart: candidates often cost
    within a hundredth of a cent of each other."""
    labels = [money(v) for v in values]
    decimals = len(labels[0].partition(".")[2])
    while len(set(labels)) < len(labels) and decimals < 9:
        decimals += 1
        labels = [f"${v:,.{decimals}f}" for v in values]
    return labels


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>thrifty optimize report</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 1060px; margin: 2em auto;
       padding: 0 1em; color: #1d2731; }}
h1 {{ font-size: 1.6em; }} h2 {{ margin-top: 1.8em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: .8em 0; }}
th, td {{ padding: .25em .7em; border-bottom: 1px solid #eee; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
code {{ background: #f3f5f7; padding: .1em .3em; }} .note {{ color: #555; font-size: .9em; }}
svg text {{ font-size: 11px; fill: #333; }}
svg text.label {{ paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }}
.candidates {{ font-size: .88em; }} .candidates td:nth-child(n+2) {{ white-space: nowrap; }}
.about th {{ text-align: left; color: #555; font-weight: 600; }}
.about td {{ text-align: left; }}
tr.chosen td {{ background: #fbe9ec; font-weight: 600; }}
tr.over td {{ color: #9aa5b1; }}
.mark {{ color: #fff; background: #d1495b; border-radius: 3px; padding: 0 .35em; }}
.rule {{ background: #f3f5f7; border-left: 3px solid #2e86ab; padding: .4em .7em; }}
</style></head><body>
{body}
</body></html>
"""
