"""The ``thrifty`` command: one sub-command per verb, each a thin layer over the Python API.

Each group of commands is a module of this package (measure, models, optimize, pack, predict,
ship, demo) that registers its commands here in help order; the options they share are declared
once, in options.py. Command modules import options.py and output.py, never each other, and
import the frameworks inside each command, so that ``thrifty --help`` stays fast.

Exit status: 0 on success, 1 on a user error (one line on stderr saying what to do), 2 on a
usage error (unknown option, missing argument).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from thrifty.cli import demo, measure, models, optimize, pack, predict, ship
from thrifty.errors import ThriftyError

app = typer.Typer(
    help="Make neural networks cheap to run, store and ship, and see what they cost in money.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"thrifty {version('thrifty')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """thrifty: what your model costs, and the cheapest version of it within your budget."""


# In the order of --help.
measure.register(app)  # profile
models.register(app)  # train, compress
optimize.register(app)  # optimize, report
pack.register(app)  # pack, unpack, inspect
predict.register(app)  # predict
ship.register(app)  # push, pull, ls, gc, serve
demo.register(app)  # demo


def main() -> None:
    """Entry point: user errors become one line and exit status 1, never a traceback."""
    try:
        app()
    except ThriftyError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
