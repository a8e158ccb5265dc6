"""Every table thrifty prints keeps its names whole (recipes, layer and tensor names, versions,
paths) at any width: at 80 columns, what rich assumes off a terminal, each name moves to a line
of its own rather than ending in an ellipsis."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

import thrifty.report.candidate as reported
from thrifty.datasets.metrics import Metric
from thrifty.measure import Bill, load_pricing
from thrifty.measure.cost import Bandwidth, Compute, Cost, Storage
from thrifty.measure.counts import Layer
from thrifty.measure.quality import Quality
from thrifty.measure.timing import Latency, Throughput
from thrifty.optimize.result import Optimized
from thrifty.pack.inspect import Inspection, TensorRow
from thrifty.report.text import (
    NamedRows,
    compare_view,
    how_it_runs,
    inspection_view,
    optimize_view,
    profile_view,
    runs_as,
)

RECIPES = ["channels:0.5,prune:0.75,share:4,quantize:int8-static", "prune:0.9,share:5"]
NAMES = ["fc1.weight_TransposeOutput_quantized", "fc2.weight_TransposeOutput_quantized"]
PATH = "out/experiments/2024-05-01/lenet-300-100-fashion-mnist/model.thrifty"


def rendered(view, width: int) -> str:
    console = Console(width=width, file=StringIO())
    console.print(view)
    return console.file.getvalue()


def whole(text: str, *names: str) -> None:
    assert "…" not in text, text
    for name in names:
        assert name in text, f"{name!r} not whole in:\n{text}"


def _cost(format: str = "onnx", accuracy: float = 0.9014) -> Cost:
    compute = Compute(
        "onnxruntime", "cpu", 1, Latency(0.02, 0.03, 100), Throughput(50_000.0, 512, 0.01, 5),
        1 << 20, 266_200,
    )  # fmt: skip
    layers = [Layer(name, "MatMulInteger", 235_200, 235_200, 235_200) for name in NAMES]
    return Cost(
        PATH, compute, Storage(1_066_496, 266_610, format), Bandwidth(1_066_496, 3136, 40),
        Quality("accuracy", accuracy, 10_000, "test"), layers,
    )  # fmt: skip


def _candidate(recipe: str, quality: float, size: int, runtime: str = "onnxruntime"):
    bill = reported.Bill(1.0, 0.0, 0.0, 0.004 * size / 1e6, "internet")
    deployment = reported.Deployment(runtime, 1, "cpu", 512, 50_000.0, 0.02, quality, bill, ())
    epochs = 2 if recipe else 0
    return reported.Candidate(recipe, epochs, quality, "accuracy", size, 3.0, Path("m.thrifty"),
                              False, deployment, (deployment,), (), ())  # fmt: skip


def _optimized() -> Optimized:
    candidates = [_candidate(RECIPES[0], 0.899, 53_248, "torch-sparse"),
                  _candidate(RECIPES[1], 0.898, 23_026)]  # fmt: skip
    return Optimized(_candidate("", 0.9014, 1_066_496), candidates, 0.5, "money")


@pytest.mark.parametrize("width", [80, 200])
def test_optimize_keeps_every_recipe_whole(width):
    text = rendered(optimize_view(_optimized().report()), width)
    whole(text, *RECIPES, "(the model as it is)", "90.14%", "PyTorch (sparse)")
    if width > 150:  # room for everything on one line: a plain table
        assert "PyTorch (sparse), 1 thread, batch 512" in text and "┃ recipe" in text


def test_optimize_shows_the_validation_drop_that_decides_beside_the_test_drop():
    from dataclasses import replace

    found = _optimized()
    tested = replace(found.candidates[1].deployment, test=0.8814)  # validation: 89.80%
    found.candidates[1] = replace(found.candidates[1], deployment=tested, cut_short=True)
    text = rendered(optimize_view(found.report()), 200)
    assert "drop val" in text and "drop test" in text and "validation drop, which decides" in text
    row = next(line for line in text.splitlines() if RECIPES[1] in line)
    assert "+0.34" in row and "+2.00" in row and "2 cut" in row


@pytest.mark.parametrize("width", [80, 200])
def test_profile_keeps_layer_names_and_the_model_path_whole(width):
    cost = _cost()
    text = rendered(profile_view(cost, Bill.of(cost, load_pricing())), width)
    whole(text, *NAMES, PATH)
    assert "accuracy 90.14% on 10,000 test rows" in text
    assert "ONNX Runtime on CPU, 1 thread" in text and "internet prices" in text


@pytest.mark.parametrize("width", [80, 200])
def test_inspect_keeps_tensor_names_and_the_path_whole(width):
    rows = [TensorRow(name, "int8", [300, 784], "sparse bitmask/rans", 235_212, 8.0)
            for name in NAMES]  # fmt: skip
    text = rendered(inspection_view(Inspection(PATH, 480_000, 120, 1200, rows, {})), width)
    whole(text, *NAMES, PATH)


def test_compare_keeps_the_recipe_and_path_of_its_title_whole():
    before, after = _cost(), _cost("thrifty", 0.8990)
    text = rendered(compare_view(before, after, title=f"{RECIPES[0]} -> {PATH}"), 80)
    whole(text, RECIPES[0], PATH, "90.14%", "89.90%", "-0.24 points")


def test_a_name_too_long_for_a_table_row_gets_a_line_of_its_own():
    table = NamedRows(title="versions in s3://bucket/models")
    for column in ("name@version", "size", "created", "tags"):
        table.add_column(column)
    long = "lenet-300-100-fashion-mnist-pruned@sha256-4f1c2a9b7e"
    table.add_row(long, "1.0 MiB", "2024-05-01T12:00:00+00:00", "latest stable")
    table.add_row("lenet@2", "20.5 KiB", "2024-05-02T12:00:00+00:00", "")
    wide, narrow = rendered(table, 200), rendered(table, 80)
    whole(wide, long, "lenet@2")
    whole(narrow, long, "lenet@2", "2024-05-01T12:00:00+00:00")
    lines = narrow.splitlines()
    assert lines.index(long) + 1 == next(i for i, line in enumerate(lines) if "1.0 MiB" in line)


def test_ascii_only_consoles_stack_names_too():
    table = NamedRows()
    for column in ("tensor", "dtype", "shape", "encoding", "bytes", "bits/weight"):
        table.add_column(column)
    table.add_row(NAMES[0] * 2, "int8", "300x784", "sparse bitmask/rans", "235,212", "8.00")
    console = Console(width=80, file=_Latin1())  # rich draws in ASCII where it is not UTF
    console.print(table)
    whole(console.file.getvalue(), NAMES[0] * 2, "235,212")


class _Latin1(StringIO):
    encoding = "latin-1"


def test_deployments_in_plain_words():
    assert how_it_runs("onnxruntime", 1) == "ONNX Runtime, 1 thread"
    assert how_it_runs("torch", 8, device="cuda") == "PyTorch on CUDA, 8 threads"
    assert (
        how_it_runs("onnxruntime", 2, workers=4) == "ONNX Runtime, 2 threads per worker, 4 workers"
    )
    deployment = _candidate("prune:0.9", 0.9, 1000, "torch-sparse").deployment
    assert runs_as(deployment) == "PyTorch (sparse), 1 thread, batch 512"


def test_one_format_per_metric():
    assert Metric("accuracy").format(0.90142) == "90.14%"
    assert Metric("recall:malignant").format(1.0) == "100.00%"
    assert [Metric("rmse").format(v) for v in (0.31274, 12.3456, 1234.56, 0.099996)] == [
        "0.3127", "12.35", "1,235", "0.1000",
    ]  # fmt: skip
    assert Metric("auc").format_change(0.9, 0.9012) == "+0.12 points"
    assert Metric("mae").format_change(1.2, 1.1) == "-0.1000"
