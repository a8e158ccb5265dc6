"""The optimizer's commands: ``thrifty optimize`` (the cheapest version of a model, priced for
the workload options ``thrifty profile`` takes) and ``thrifty report`` (its HTML page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from thrifty.cli.options import (
    DEPLOYS_PER_MONTH,
    INFERENCES_PER_MONTH,
    REPLICAS,
    VERSIONS_KEPT,
    Data,
    DeploysPerMonth,
    InferencesPerMonth,
    Metric,
    ModelSource,
    Pricing,
    Ray,
    Replicas,
    Target,
    Text,
    VersionsKept,
    Workers,
    workload,
)
from thrifty.paths import existing_file, existing_model, writable_file, writable_folder


def optimize(
    context: typer.Context,
    model: ModelSource,
    data: Data,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Folder for model.thrifty/.onnx, report.json (not with --plan)."
        ),
    ] = None,
    max_drop: Annotated[
        float,
        typer.Option(
            help="Quality it may lose: points of a share (accuracy, recall, AUC), "
            "or units of an error (RMSE, MAE)."
        ),
    ] = 0.5,
    metric: Metric = None,
    objective: Annotated[str, typer.Option(help="money, latency, size or bandwidth.")] = "money",
    time_budget: Annotated[str, typer.Option(help="Time to search: 600, 10m, 1h.")] = "10m",
    pricing: Pricing = None,
    inferences_per_month: InferencesPerMonth = INFERENCES_PER_MONTH,
    replicas: Replicas = REPLICAS,
    deploys_per_month: DeploysPerMonth = DEPLOYS_PER_MONTH,
    versions_kept: VersionsKept = VERSIONS_KEPT,
    target: Target = None,
    text: Text = None,
    workers: Workers = "auto",
    ray: Ray = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Print the groups, rungs and recipes it would try within the time budget, "
            "with the seconds each should take, and exit without training or writing.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --plan: print the plan as one JSON object.")
    ] = False,
) -> None:
    """Find the cheapest version of a model within a quality budget, measured as deployed."""
    from thrifty.datasets import load as load_data
    from thrifty.loading import load
    from thrifty.optimize import optimize as run
    from thrifty.progress import measured
    from thrifty.report.text import optimize_view

    if not plan and output is None:
        raise _Missing("give a folder to write into, or --plan to see what it would try", context)
    if as_json and not plan:
        raise typer.BadParameter("it prints the plan: give --plan too", context, _param(context))
    existing_model(model)
    if output is not None:
        writable_folder(output)  # with --plan too: the run it plans would write there
    budget = _seconds(time_budget)
    month = workload(inferences_per_month, replicas, deploys_per_month, versions_kept)
    loaded = load(model)
    rows = load_data(data, target=target, text=text, model=loaded)
    if plan:
        _plan(loaded, rows, max_drop, metric, pricing, month, budget, as_json)
        return
    found = run(
        loaded, rows, max_drop, objective=objective, metric=metric, pricing=pricing,
        workload=month, time_budget=budget, out=output, progress=measured(budget),
        workers=workers, cluster=ray,
    )  # fmt: skip
    from rich.console import Console

    Console().print(optimize_view(found.report()))
    if found.closest is not None:
        near = found.closest
        typer.echo(
            f"no compressed candidate stayed within {max_drop} of the model; the closest, "
            f"{near.trial.recipe}, lost {near.drop(found.baseline):.2f}; "
            "the model as it is was written"
        )
    elif found.best is found.baseline and found.candidates:
        typer.echo(
            f"no compressed candidate within {max_drop} of the model was cheaper by "
            f"{found.objective} than the model as it is, which was written"
        )
    typer.echo(f"wrote {output}/model.thrifty, model.onnx, report.json and report.html")
    run_as = found.best.deployment
    typer.echo(
        f"it runs cheapest as: thrifty predict {output}/model.thrifty INPUT -o OUTPUT "
        f"--runtime {run_as.runtime} --threads {run_as.threads} --batch-size {run_as.batch_size}"
    )


def _plan(model, data, max_drop, metric, pricing, month, budget, as_json) -> None:
    from rich.console import Console

    from thrifty.optimize import plan
    from thrifty.report.text import plan_view

    found = plan(
        model, data, max_drop, metric=metric, pricing=pricing, workload=month, time_budget=budget
    )
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=1))
    else:
        Console().print(plan_view(found))


def report(
    document: Annotated[Path, typer.Argument(help="A report.json that thrifty optimize wrote.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML page to write.")],
) -> None:
    """Render an optimization report as a self-contained HTML page (charts inline)."""
    from thrifty.atomic import write_atomic
    from thrifty.errors import DataError
    from thrifty.report.folder import report_page

    existing_file(document, "a report.json that thrifty optimize wrote", DataError)
    writable_file(output)
    write_atomic(output, report_page(document).encode())
    typer.echo(f"wrote {output}")


class _Missing(typer.BadParameter):
    """-o/--output left out without --plan: the usage error of a missing option (status 2)."""

    def format_message(self) -> str:
        return f"Missing option '--output' / '-o': {self.message}"


def _param(context: typer.Context, name: str = "as_json"):
    return next(p for p in context.command.params if p.name == name)


def _seconds(text: str) -> float:
    from thrifty.errors import DataError

    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise DataError(f"time budget {text!r}: give seconds, or a number with s, m or h") from None
    if seconds <= 0:
        raise DataError(f"time budget {text!r} must be more than zero")
    return seconds


def register(app: typer.Typer) -> None:
    example = "thrifty optimize lenet.onnx --data fashion-mnist --max-drop 0.5 -o out/"
    app.command(epilog=f"Example: {example} (add --plan to see what it would try)")(optimize)
    app.command(epilog="Example: thrifty report out/report.json -o report.html")(report)
