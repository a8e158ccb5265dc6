"""Options that thrifty's command modules share (their paths are checked by thrifty/paths.py)."""

from __future__ import annotations

from typing import Annotated

import typer

Data = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="A data set name (fashion-mnist, digits, breast-cancer) "
        "or a .npz, .csv or .parquet file.",
    ),
]
Target = Annotated[
    str | None, typer.Option(help="The column to predict, for .csv and .parquet data.")
]
Metric = Annotated[
    str | None,
    typer.Option(
        help="The quality metric: accuracy, f1, auc, recall:CLASS, precision:CLASS, rmse, mae "
        "(default: accuracy for classes, rmse for values)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
