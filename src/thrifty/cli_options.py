"""Options that thrifty's command modules share (their paths are checked by thrifty/paths.py)."""

from __future__ import annotations

from typing import Annotated

import typer

ModelSource = Annotated[
    str,
    typer.Argument(help="An .onnx, .keras or .thrifty model file, or a Hugging Face model folder."),
]
Data = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="A data set name (fashion-mnist, digits, breast-cancer, wordnet-glosses) "
        "or a .npz, .csv or .parquet file, or a .txt of texts (one a line).",
    ),
]
Target = Annotated[
    str | None, typer.Option(help="The column to predict, for .csv and .parquet data.")
]
Text = Annotated[
    str | None,
    typer.Option(help="The column of texts, for .csv and .parquet data a model tokenizes."),
]
Metric = Annotated[
    str | None,
    typer.Option(
        help="The quality metric: accuracy, f1, auc, recall:CLASS, precision:CLASS, rmse, mae; "
        "for embeddings spearman, cosine, recall@K (default: accuracy for classes, rmse for "
        "values, spearman for embeddings)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
