"""The conformance table: what each command does with each row's model, as README shows it.

Every cell is a test (``test_cells.py``): ``works`` cells check what the command wrote in
plain ONNX Runtime; ``REFUSED`` cells check that it says why in one line and writes nothing.
``SLOW`` cells run in ``make test-slow``. ``test_readme_shows_the_table`` keeps README's copy
equal to ``markdown()``.
"""

from __future__ import annotations

from conformance.subjects import ROWS

COLUMNS = {  # column -> what the cell runs
    "profile": "profile",
    "prune": "prune:0.5",
    "channels": "channels:0.5",
    "share": "share:4",
    "int8-dynamic": "quantize:int8-dynamic",
    "int8-static": "quantize:int8-static",
    "fp16": "quantize:fp16",
    "pack": "pack, unpack",
    "optimize": "optimize",
    "predict": "predict",
    "push-pull": "push, pull",
}

# (row, column) -> the words thrifty's one-line refusal must contain
REFUSED: dict[tuple[str, str], str] = {}

# make test keeps every column of every framework within its 15 minutes; the rest are slow:
# the transformers (22.7M weights each), the opset-17 twins of the CNNs, and every search but
# one (20 s each)
SLOW_ROWS = ("minilm-folder", "minilm-onnx", "minilm-classifier", "resnet18-opset17",
             "mobilenet_v2-opset17")  # fmt: skip
SLOW: set[tuple[str, str]] = {
    *((row, column) for row in SLOW_ROWS for column in COLUMNS),
    *((row, "optimize") for row in ROWS if row != "sklearn-mlp"),
}


def cells():
    """Every (row, column), in the table's order."""
    return [(row, column) for row in ROWS for column in COLUMNS]


def markdown() -> str:
    """The table as README shows it: rows by name (described below it), ``yes`` or ``no`` with
    the reason's number; ``*`` where the cell's test runs in ``make test-slow``."""
    reasons = sorted(set(REFUSED.values()))
    lines = ["| | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for row in ROWS:
        marks = []
        for column in COLUMNS:
            mark = "yes"
            if (row, column) in REFUSED:
                mark = f"no ({reasons.index(REFUSED[row, column]) + 1})"
            marks.append(mark + ("*" if (row, column) in SLOW else ""))
        lines.append(f"| `{row}` | " + " | ".join(marks) + " |")
    lines.append("")
    lines += [f"- `{row}`: {spec.title}" for row, spec in ROWS.items()]
    lines += [f'- ({i}) refused in one line: "{why}..."' for i, why in enumerate(reasons, 1)]
    return "\n".join(lines) + "\n"
