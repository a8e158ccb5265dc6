"""``thrifty demo``: the whole story on Fashion-MNIST (its steps: thrifty/demo.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thrifty.cli.options import AsJson
from thrifty.cli.output import show_profile


def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its files.")] = Path("out/demo"),
    as_json: AsJson = False,
) -> None:
    """Train (or reuse) LeNet-300-100 on Fashion-MNIST, show what it costs, find its cheapest
    version, predict with it, and write the report."""
    from rich.console import Console

    from thrifty.demo import optimize_and_predict, run_demo
    from thrifty.report.text import optimize_view

    data, path, cost, bill = run_demo(out, quiet=as_json)
    if not as_json:
        show_profile(cost, bill, as_json)
    found, _ = optimize_and_predict(data, path, out, quiet=as_json)
    if as_json:
        typer.echo((out / "optimized" / "report.json").read_text())
    else:
        Console().print(optimize_view(found.report()))


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: thrifty demo  (about 4 minutes on 2 cores)")(demo)
