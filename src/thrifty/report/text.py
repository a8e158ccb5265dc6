"""Profiles as rich tables for a person at a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.box import Box
from rich.console import Console, Group
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from thrifty.datasets.metrics import Metric
from thrifty.units import human_bytes, money

if TYPE_CHECKING:  # annotations only: the HTML page imports this module without measuring
    from thrifty.measure.bill import Bill
    from thrifty.measure.cost import Cost
    from thrifty.report.candidate import Deployment
    from thrifty.report.record import Report


def profile_view(cost: Cost, bill: Bill) -> Group:
    """The per-layer table, then the totals, then the monthly bill."""
    return Group(_layers(cost), _totals(cost), _bill(bill))


def print_profile(cost: Cost, bill: Bill, console: Console | None = None) -> None:
    (console or Console()).print(profile_view(cost, bill))


def _layers(cost: Cost) -> NamedRows:
    table = NamedRows(title=f"{cost.model}: per layer")
    for column in ("layer", "op", "params", "bytes", "MACs/sample", "share of MACs"):
        table.add_column(column, justify="left" if column in ("layer", "op") else "right")
    total = max(1, cost.compute.macs_per_sample)
    for layer in cost.layers:
        table.add_row(
            layer.name,
            layer.op,
            f"{layer.params:,}",
            human_bytes(layer.bytes),
            f"{layer.macs:,}",
            f"{layer.macs / total:.1%}",
        )
    table.add_row(
        "total",
        "",
        f"{cost.storage.params:,}",
        human_bytes(sum(layer.bytes for layer in cost.layers)),
        f"{cost.compute.macs_per_sample:,}",
        "100.0%",
        style="bold",
    )
    return table


def _totals(cost: Cost) -> Table:
    c, q = cost.compute, cost.quality
    table = Table(title="what it costs", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("quality", f"{q.metric} {Metric(q.metric).format(q.value)} on {q.rows:,} {q.split} rows"),
        ("runs as", how_it_runs(c.runtime, c.threads, device=c.device)),
        (
            "latency (batch 1)",
            f"p50 {c.latency.p50_ms:.3f} ms, p95 {c.latency.p95_ms:.3f} ms ({c.latency.runs} runs)",
        ),
        (
            "throughput",
            f"{c.throughput.samples_per_s:,.0f} samples/s at batch "
            f"{c.throughput.batch_size} (spread {c.throughput.spread:.1%} over "
            f"{c.throughput.repeats} repeats)",
        ),
        ("compute", f"{c.macs_per_sample:,} MACs = {2 * c.macs_per_sample:,} FLOPs per sample"),
        ("peak memory", human_bytes(c.peak_memory_bytes) + " above start (load and run)"),
        (
            "storage",
            f"{human_bytes(cost.storage.bytes)} as {cost.storage.format}, "
            f"{cost.storage.params:,} parameters",
        ),
        (
            "bandwidth",
            f"{human_bytes(cost.bandwidth.bytes_to_ship)} per replica per deploy; "
            f"{cost.bandwidth.request_bytes:,} B in, {cost.bandwidth.response_bytes:,} "
            "B out per inference",
        ),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


def _bill(bill: Bill) -> Table:
    w = bill.workload
    table = Table(
        title=f"monthly bill, {bill.pricing} prices",
        title_justify="left",
        caption=f"workload: {w.inferences_per_month:,.0f} inferences, {w.replicas} replicas, "
        f"{w.deploys_per_month} deploys, {w.versions_kept} versions kept",
        caption_justify="left",
        min_width=80,
    )
    table.add_column("category")
    table.add_column("USD / month", justify="right")
    table.add_column("share", justify="right")
    for name, usd in (
        ("compute", bill.compute_usd),
        ("storage", bill.storage_usd),
        ("bandwidth", bill.bandwidth_usd),
    ):
        table.add_row(name, money(usd), f"{usd / (bill.total_usd or 1):.0%}")
    table.add_row("total", money(bill.total_usd), "100%", style="bold")
    table.add_row("per million inferences", money(bill.usd_per_million))
    return table


def inspection_view(inspection) -> NamedRows:
    """One row per tensor of a .thrifty file: shape, encoding, bytes, bits per weight."""
    table = NamedRows(
        title=f"{inspection.path}: {human_bytes(inspection.file_bytes)}, "
        f"{inspection.weights:,} weights, "
        f"{8 * inspection.file_bytes / max(1, inspection.weights):.2f} bits per weight overall",
        caption=f"header {human_bytes(inspection.header_bytes)}, "
        f"graph {human_bytes(inspection.graph_bytes)}",
    )
    for column in ("tensor", "dtype", "shape", "encoding", "bytes", "bits/weight"):
        table.add_column(column, justify="right" if column in ("bytes", "bits/weight") else "left")
    for row in inspection.tensors:
        shape = "x".join(str(d) for d in row.shape) or "scalar"
        table.add_row(
            row.name, row.dtype, shape, row.encoding, f"{row.bytes:,}", f"{row.bits_per_weight:.2f}"
        )
    return table


def compare_view(before: Cost, after: Cost, *, title: str) -> NamedRows:
    """Two Costs side by side: quality, bytes, throughput, and the ratios between them."""
    table = NamedRows(title=title)
    for column in ("", "before", "after", "change"):
        table.add_column(column, justify="left" if not column else "right")
    metric, q0, q1 = Metric(before.quality.metric), before.quality.value, after.quality.value
    table.add_row(metric.spec, metric.format(q0), metric.format(q1), metric.format_change(q0, q1))
    b0, b1 = before.storage.bytes, after.storage.bytes
    table.add_row(
        f"bytes ({before.storage.format} -> {after.storage.format})",
        human_bytes(b0),
        human_bytes(b1),
        f"{b0 / max(1, b1):.1f}x smaller",
    )
    t0, t1 = before.compute.throughput.samples_per_s, after.compute.throughput.samples_per_s
    table.add_row("samples/s", f"{t0:,.0f}", f"{t1:,.0f}", f"{t1 / t0:.2f}x")
    table.add_row(
        "MACs/sample",
        f"{before.compute.macs_per_sample:,}",
        f"{after.compute.macs_per_sample:,}",
        "",
    )
    return table


def optimize_view(report: Report) -> NamedRows:
    """Every candidate of an optimization: quality, drop, bytes, money; the best marked."""
    baseline = report.baseline
    metric = Metric(baseline.metric)
    table = NamedRows(
        names=1,
        beside=8,
        title=f"optimize: the cheapest by {report.objective} within {report.max_drop} "
        f"{'points of ' if metric.is_share else ''}{metric.spec} (validation), "
        "measured as deployed",
        caption="* chosen: the cheapest within the budget by its validation drop, which "
        "decides; the test split is reported, never used to choose. P on the Pareto front "
        "(quality, objective, bytes). Epochs 'cut': the time budget ended its fine-tuning."
        + "".join(f" Not tried: {recipe} ({why})" for recipe, why in report.not_applicable.items()),
    )
    for column in ("", "recipe", "epochs", f"test {metric.spec}", "drop val", "drop test",
                   "bytes", "$ / million", "runs as"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("", "recipe", "runs as") else "right")
    for c in report.table:
        mark = ("*" if c == report.best else "") + ("P" if c in report.front else "")
        epochs = f"{c.epochs} cut" if c.cut_short else str(c.epochs)
        table.add_row(
            mark, c.recipe or "(the model as it is)", epochs, metric.format(c.test),
            f"{c.drop(baseline):+.2f}", f"{c.drop(baseline, 'test'):+.2f}", f"{c.bytes:,}",
            money(c.usd_per_million), runs_as(c.deployment),
        )  # fmt: skip
    return table


def plan_view(plan) -> NamedRows:
    """A search's plan (``thrifty.optimize.plan``): each step and trial in the order the search
    would run it, grouped by group and rung, with its expected seconds and whether it fits."""
    table = NamedRows(
        title=f"plan: optimizing {plan.model} on {plan.data} within {_seconds(plan.time_budget)} "
        f"s would take at most {_seconds(plan.seconds)} s if it tried every line below; "
        "nothing was trained or written",
        caption=_plan_caption(plan.calibration),
    )
    for column in ("recipe", "epochs", "expected s", "measured s", "by then s", "fits"):
        table.add_column(column, justify="left" if column in ("recipe", "fits") else "right")
    marked, heading = set(), None
    for line in plan.lines:
        if line.fits != "yes" and line.counted and line.fits not in marked:
            marked.add(line.fits)
            ends = "may run out" if line.fits == "maybe" else "runs out"
            table.add_row(f"-- the time budget {ends} here --", *[""] * 5, style="bold")
        if line.kind == "trial" and (line.group, line.rung, line.certain, line.counted) != heading:
            if line.group != (heading or (0,))[0]:
                group = f"group {line.group}: {plan.groups[line.group - 1]}"
                table.add_row(group, *[""] * 5, style="bold")
            heading = (line.group, line.rung, line.certain, line.counted)
            table.add_row(_rung_heading(plan, line), *[""] * 5, style="italic")
        measured = "" if line.measured is None else _seconds(line.measured)
        table.add_row(
            _plan_line(line),
            str(line.epochs) if line.kind in ("baseline", "trial", "harder") else "",
            _seconds(line.seconds) + (" each" if not line.counted else ""), measured,
            _seconds(line.by_then) if line.counted else "", line.fits if line.counted else "",
        )  # fmt: skip
    return table


def _plan_caption(c) -> str:
    """How a plan's expected seconds were reckoned, and how to read its columns."""
    return (
        f"Expected seconds: a validation pass took {c.validation_s:.2g} s "
        f"({c.rows['val']:,} rows); an epoch of fine-tuning ({c.rows['train']:,} training rows) "
        f"{c.epoch_s:.2g} s at most (a training row takes {c.training:g} validation rows' time, "
        "and a validation pass ends it); measuring a candidate as deployed "
        f"{c.measure_s:.2g} s for the model ({c.options} runtime and thread options"
        + (", as the cache measured it" if c.scale != 1 else "")
        + "). "
        "Rung 1 tries every recipe of its group; each later rung only the survivors of the one "
        "before, combined: at most these. A trial listed once is measured once. 'by then': the "
        "seconds spent if every line before it runs (fewer do); 'fits': yes, maybe (only if "
        "fewer run), no (not even then). Thinning harder takes the time left: not counted."
    )


def _rung_heading(plan, line) -> str:
    rung = next(r for r in plan.rungs if (r.group, r.rung) == (line.group, line.rung))
    known = [x for x in plan.lines if (x.group, x.rung, x.kind) == (line.group, line.rung, "trial")]
    may = sum(1 for x in known if not x.certain and x.counted)
    head = f"rung {rung.rung}, {rung.epochs} epochs"
    if line.certain:
        return f"{head}: every recipe"
    if not line.counted:
        return f"{head}: at each strength picked when the search runs"
    if rung.rung == 1:
        return f"rung 1, crossed with what earlier groups kept: at most {may} of these"
    return f"{head}: at most {may} of these, the survivors combined"


def _plan_line(line) -> str:
    if line.kind == "load":
        return "load the model and data"
    if line.kind == "baseline":
        return "(the model as it is)"
    if line.kind == "suggest":
        return f"{line.recipe}: {line.note}"
    if line.kind == "harder":
        return "then: the best thinned, thinned harder"
    return line.recipe + (f" ({line.note})" if line.note else "")


def _seconds(seconds: float) -> str:
    return f"{seconds:,.1f}" if seconds < 100 else f"{seconds:,.0f}"


def runs_as(deployment: Deployment) -> str:
    """How a candidate runs cheapest, in a few words: ``ONNX Runtime, 1 thread, batch 512``."""
    how = how_it_runs(deployment.runtime, deployment.threads)
    return f"{how}, batch {deployment.batch_size}"


RUNTIMES = {
    "onnxruntime": "ONNX Runtime",
    "openvino": "OpenVINO",
    "torch": "PyTorch",
    "torch-sparse": "PyTorch (sparse)",
}


def how_it_runs(
    runtime: str, threads: int, *, device: str | None = None, workers: int | None = None
) -> str:
    """A deployment in plain words: ``ONNX Runtime, 1 thread``, ``PyTorch on CUDA, 8 threads``,
    ``ONNX Runtime, 2 threads per worker, 4 workers``."""
    words = RUNTIMES.get(runtime, runtime) + (f" on {device.upper()}" if device else "")
    words += f", {_count(threads, 'thread')}"
    return words if workers is None else f"{words} per worker, {_count(workers, 'worker')}"


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


class NamedRows:
    """A table whose rows are named by something that must stay whole: a recipe, a layer or
    tensor name, a version. Where it fits the console with those names whole it is a table;
    where it does not (a narrow terminal, or the 80 columns rich assumes off one), each name
    takes a line of its own above the rest of its row. Title and caption take the console's
    width rather than the table's, so the paths in them break only at spaces. A column
    ``beside`` the names (a wide one, such as how a model runs) joins the name's line there."""

    def __init__(
        self, *, names: int = 0, beside: int | None = None, title: str = "", caption: str = ""
    ):
        self.names, self.beside, self.title, self.caption = names, beside, title, caption
        self.columns: list[tuple[str, str]] = []  # header, justify
        self.rows: list[tuple[tuple[str, ...], str | None]] = []  # cells, style

    def add_column(self, header: str, justify: str = "left") -> None:
        self.columns.append((header, justify))

    def add_row(self, *cells: str, style: str | None = None) -> None:
        self.rows.append((cells, style))

    def __rich_console__(self, console, options):
        if self.title:
            yield Text(self.title, style="table.title")
        table = self._table()
        natural = options.update_width(1 << 16)  # its size unclamped by the console's
        if Measurement.get(console, natural, table).minimum <= options.max_width:
            yield table
        else:
            yield from self._stacked(console, options)
        if self.caption:
            yield Text(self.caption, style="table.caption")

    def _table(self, box: Box | None = None) -> Table:
        """The table, the names whole; with ``box`` (the stacked form) without the names."""
        table = Table() if box is None else Table(box=box, show_edge=False, show_lines=True)
        longest = max((len(cells[self.names]) for cells, _ in self.rows), default=0)
        kept = [i for i in range(len(self.columns)) if box is None or i not in self._on_name_line]
        for i in kept:
            header, justify = self.columns[i]
            if i == self.names:
                table.add_column(header, justify=justify, no_wrap=True, min_width=longest)
            else:  # stacked, a header wraps before its cells do
                widest = None if box is None else self._widest(i)
                table.add_column(header, justify=justify, overflow="fold", max_width=widest)
        for cells, style in self.rows:
            table.add_row(*(cells[i] for i in kept), style=style)
        return table

    @property
    def _on_name_line(self) -> tuple[int, ...]:
        return (self.names,) if self.beside is None else (self.names, self.beside)

    def _name_line(self, cells: tuple[str, ...]) -> str:
        """``channels:0.5  (runs as ONNX Runtime, 1 thread)``: the name, and the column beside."""
        if self.beside is None:
            return cells[self.names]
        return f"{cells[self.names]}  ({self.columns[self.beside][0]} {cells[self.beside]})"

    def _widest(self, column: int) -> int:
        """The widest cell of ``column``, or the longest word of its header."""
        header = self.columns[column][0].split()
        return max([len(word) for word in header] + [len(r[0][column]) for r in self.rows])

    def _stacked(self, console, options):
        """The table without the names, indented, each row's name on the line above it: rich
        tables cannot span a cell over columns, so the rule under the header and the lines
        between rows are where the names go."""
        box = _STACKED[options.ascii_only]
        rule, between = box.head_row_horizontal, box.row_horizontal
        names = iter(self.rows)
        indent = Segment("  ")
        narrower = options.update_width(max(1, options.max_width - len(indent.text)))
        for line in console.render_lines(self._table(box), narrower, pad=False):
            text = "".join(segment.text for segment in line).strip()
            if text and set(text) <= {rule, between}:
                if set(text) == {rule}:
                    yield from (indent, *line, Segment.line())
                cells, style = next(names)
                name = Text(self._name_line(cells), style=style or "")
                for name_line in console.render_lines(name, options, pad=False):
                    yield from (*name_line, Segment.line())
            else:
                yield from (indent, *line, Segment.line())


_STACKED = {  # a rule under the header, and between rows a line that a name replaces
    False: Box("    \n    \n ── \n    \n ┈┈ \n ┈┈ \n    \n    \n"),
    True: Box("    \n    \n -- \n    \n ~~ \n ~~ \n    \n    \n", ascii=True),
}
