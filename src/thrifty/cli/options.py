"""Every option that more than one command takes, declared once (paths are checked by
thrifty/paths.py). A command's own options stay in its signature.

The workload options are one set: a command that prices a month takes all four, with the
defaults below, and builds its ``Workload`` with :func:`workload`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from thrifty.measure import Workload

ModelSource = Annotated[
    str,
    typer.Argument(help="An .onnx, .keras or .thrifty model file, or a Hugging Face model folder."),
]
Packed = Annotated[str, typer.Argument(help="A .thrifty file.")]
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
Runtime = Annotated[
    str,
    typer.Option(
        help="onnxruntime, openvino (CPU), torch or torch-sparse (pruned layers as sparse "
        "matrices)."
    ),
]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]

Pricing = Annotated[
    Path | None,
    typer.Option(help="A pricing profile: a TOML file, or internet (default) or same-zone."),
]
InferencesPerMonth = Annotated[float, typer.Option(help="Workload: inferences a month.")]
Replicas = Annotated[int, typer.Option(help="Workload: copies of the model in service.")]
DeploysPerMonth = Annotated[int, typer.Option(help="Workload: new versions a month.")]
VersionsKept = Annotated[int, typer.Option(help="Workload: versions kept in storage.")]
# Workload()'s defaults, written out so that --help shows them without importing thrifty.measure
# (numpy); tests/test_cli.py checks that they stay Workload()'s.
INFERENCES_PER_MONTH = 10_000_000
REPLICAS = 2
DEPLOYS_PER_MONTH = 4
VERSIONS_KEPT = 10


def workload(
    inferences_per_month: float, replicas: int, deploys_per_month: int, versions_kept: int
) -> Workload:
    """The month the workload options describe (Workload checks each is a number >= 0)."""
    from thrifty.measure import Workload

    return Workload(
        inferences_per_month=inferences_per_month,
        replicas=replicas,
        deploys_per_month=deploys_per_month,
        versions_kept=versions_kept,
    )


# Where the work runs: predict's rows, optimize's trials.
Workers = Annotated[
    str,
    typer.Option(
        help="Worker processes, or auto (predict: a core each; optimize: two cores a trial)."
    ),
]
Ray = Annotated[
    str | None, typer.Option(help="Run on a Ray cluster at this address ('local': here).")
]

# The ship commands' store and transfer width.
Store = Annotated[str, typer.Argument(help="A folder, s3://bucket/prefix or http(s):// URL.")]
Jobs = Annotated[
    int | None,
    typer.Option(help="Chunks moved at once (default: pull 1 per core, push 2 per core; <= 8)."),
]
