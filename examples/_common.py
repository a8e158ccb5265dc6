"""What the three examples share: their command line, the baseline they train, finding the CSV
files a data package ships, and the before/after bill they print.

Not part of thrifty: copy what you need along with the example you adapt.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import thrifty as th
from thrifty.datasets.metrics import Metric

console = Console()


def command_line(story: str, *, out: str, time_budget: float, rows: bool = True):
    """The options every example takes; ``story`` is the script's docstring."""
    parser = argparse.ArgumentParser(
        description=story.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(out), help=f"folder (default {out})")
    parser.add_argument(
        "--time-budget",
        type=_positive(float),
        default=time_budget,
        help=f"seconds the optimizer may search (default {time_budget:.0f})",
    )
    if rows:
        parser.add_argument(
            "--rows", type=_positive(int), help="use at most this many rows (a quick try)"
        )
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits and training")
    return parser.parse_args()


def _positive(kind: type) -> Callable[[str], float]:
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names it in "invalid int value: 'x'"
    return parse


def run(main: Callable[[], None]) -> None:
    """``main()``, with thrifty's user errors as one line and exit status 1, not a traceback."""
    try:
        main()
    except th.ThriftyError as error:
        sys.exit(f"error: {error}")


def package_data(package: str, file: str) -> Path:
    """A data file shipped inside an installed package, found without importing the package
    (importing ISLP would import its heavy dependencies; the CSV files need none of them)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{package} is not installed: run `make setup` (it installs the example data)")
    path = Path(spec.submodule_search_locations[0]) / file
    if not path.is_file():
        sys.exit(f"{path} is missing: reinstall {package} with `make setup`")
    return path


def some_rows(count: int, rows: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``rows`` of ``count`` rows, drawn at random (all of them for None)."""
    if rows is None or rows >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, rows, replace=False))


def train_baseline(data, seed: int, **settings):
    """The model before thrifty: the zoo's small tabular MLP, trained with early stopping on
    ``data``'s metric (``settings``: of ``th.models.TrainConfig``); returned as a thrifty Model
    (exported to ONNX)."""
    module = th.models.build(
        "tabular-mlp", data.input_shape, data.num_classes or 1, steps=data.training_steps,
        seed=seed,
    )  # fmt: skip
    config = th.models.TrainConfig(seed=seed, **settings)
    with console.status(f"training the baseline on {len(data.train):,} rows"):
        trained = th.models.train(module, data, config)
    console.print(
        f"baseline: tabular-mlp, {trained.epochs} epochs (best {trained.best_epoch}), "
        f"{trained.seconds:.0f} s"
    )
    return th.load(trained.module, input_shape=data.input_shape)


def predict_rows(model_file, data, x: np.ndarray, inputs: Path, outputs: Path):
    """New rows, as they come (the model standardizes them itself, in its first layer), written
    as Parquet (``inputs``) and predicted by the model file in parallel into ``outputs``: the
    job, and its predictions in row order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({n: x[:, i] for i, n in enumerate(data.features)}), inputs)
    done = th.predict(model_file, inputs, outputs, workers="auto")
    return done, pq.read_table(done.output).sort_by("row")


def speed(done) -> str:
    """How a prediction job went, in a few words."""
    return (
        f"in {done.seconds:.1f} s ({done.rows_per_s:,.0f} a second, {done.workers} workers x "
        f"{done.threads} threads) into {done.output}"
    )


def optimize(model, data, *, max_drop, metric, workload, args, pricing=None, finetune=None):
    """``th.optimize`` with this example's options, saying what it measures as it goes."""
    console.print(
        f"optimizing for money within {max_drop} of {metric} ({args.time_budget:.0f} s budget)"
    )

    def measured(candidate) -> None:
        name = str(candidate.trial.recipe) or "the baseline"
        score = Metric(candidate.metric).format(candidate.validation)
        console.print(f"  measured {name}: validation {candidate.metric} {score}")

    return th.optimize(
        model,
        data,
        max_drop,
        objective="money",
        metric=metric,
        pricing=pricing,
        workload=workload,
        time_budget=args.time_budget,
        finetune=finetune,
        out=args.out,
        progress=measured,
    )


def print_outcome(found, workload) -> None:
    """Every candidate the optimizer measured, then the bill before and after."""
    from thrifty.report.text import optimize_view

    console.print(optimize_view(found.report()))
    if found.closest is not None:
        console.print(
            "[yellow]no compressed version kept the quality within budget; the baseline stays"
            f" (closest: {found.closest.trial.recipe})"
        )
    elif found.best is found.baseline:
        console.print("[yellow]no compressed version within budget was cheaper; the baseline stays")
    console.print(bill_view(found.baseline, found.best, workload))


def bill_view(before, after, workload) -> Table:
    """The monthly bill of two measured models side by side, with what changed."""
    from thrifty.units import human_bytes, money

    table = Table(
        title=f"the bill (inferences a month: {workload.inferences_per_month:,.0f}; replicas: "
        f"{workload.replicas}; deploys a month: {workload.deploys_per_month}; versions kept: "
        f"{workload.versions_kept}; prices: {after.bill.pricing})",
        title_justify="left",
    )
    chosen = str(after.trial.recipe) or "the baseline"
    for column in ("", "before: the baseline", f"after: {chosen}", "change"):
        table.add_column(column, justify="left" if not column else "right")
    metric = Metric(before.metric)
    change = after.test - before.test
    table.add_row(
        f"test {before.metric}", metric.format(before.test), metric.format(after.test),
        f"{change * 100:+.2f} points" if metric.is_share else f"{change:+.2f}",
    )  # fmt: skip
    table.add_row(
        "bytes (packed)", human_bytes(before.bytes), human_bytes(after.bytes),
        f"{before.bytes / max(1, after.bytes):.1f}x smaller",
    )  # fmt: skip
    for part in ("compute", "storage", "bandwidth", "total"):
        old, new = getattr(before.bill, f"{part}_usd"), getattr(after.bill, f"{part}_usd")
        table.add_row(f"{part} a month", money(old), money(new), _ratio(old, new))
    old, new = before.usd_per_million, after.usd_per_million
    table.add_row("per million inferences", money(old), money(new), _ratio(old, new))
    return table


def _ratio(old: float, new: float) -> str:
    if not old or not new:
        return ""
    return f"{old / new:.1f}x cheaper" if new <= old else f"{new / old:.1f}x dearer"


def print_report(folder: Path) -> None:
    console.print(
        f"the report: {folder / 'report.html'} ({folder / 'report.json'}); "
        f"the model: {folder / 'model.thrifty'} and {folder / 'model.onnx'}"
    )
