"""One candidate, measured as it would be deployed: compressed, packed, unpacked, run in each
runtime and setting (``deploy.py``), its quality taken on held-out data and its Cost priced
into a Bill. Measurements are
cached (``$THRIFTY_CACHE/optimize``), keyed by the model's bytes, the data set, the recipe, the
fine-tuning, thrifty's version and the machine, so a re-run of the same search is fast, and an
upgrade or another machine measures again."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from thrifty.compress import Recipe
from thrifty.compress.registry import technique
from thrifty.datasets import samples
from thrifty.errors import NotApplicable
from thrifty.optimize.deploy import cheapest, measure_options
from thrifty.optimize.making import Made, Start, make
from thrifty.report.candidate import Candidate
from thrifty.ship.cache import default_root

OBJECTIVES = ("money", "latency", "size", "bandwidth")
TOLERANCE = 1e-9  # a drop of exactly the budget is within it, whatever the float rounding


@dataclass(frozen=True)
class Trial:
    """A candidate: a compression recipe (empty for the model as it is) and fine-tuning epochs."""

    recipe: Recipe
    epochs: int

    def to_json(self) -> dict[str, Any]:
        return {"recipe": str(self.recipe), "epochs": self.epochs}


@dataclass(frozen=True)
class Measured(Candidate):
    """A candidate as the search holds it: the report's record, with the trial it measured
    (the record keeps the recipe as text, as report.json does)."""

    trial: Trial | None = None


def measure(
    model,
    data,
    trial: Trial,
    pricing,
    workload,
    finetune,
    objective="money",
    deadline=None,
    scans=None,
    made: Made | None = None,
) -> Measured:
    """Compress (unless the recipe is empty), pack, unpack and run in each runtime and setting:
    the candidate as deployed, the cheapest way by ``objective``. Fine-tuning stops at
    ``deadline`` (a ``time.monotonic()`` instant), keeping its best weights. Cached: the same
    model, data, trial and settings are measured once, whatever the objective; a trial cut
    short by the deadline is measured as it is and not cached, so a longer search redoes it.
    ``scans``: the search's sensitivity scans (``thrifty.compress.Scans``). ``made``: the
    candidate made elsewhere (``making.make``, from ``start``), else it is made here.
    A recipe that does not apply raises ``NotApplicable``."""
    folder = _cache_folder(model, data, trial, pricing, workload, finetune)
    record = folder / "measured.json"
    if record.is_file():
        return _deployed(trial, json.loads(record.read_text()), objective)
    if made is None:
        left = float("inf") if deadline is None else deadline - time.monotonic()
        start = start_of(model, data, trial, pricing, workload, finetune)
        made = make(model, data, start, trial.epochs, finetune, left, scans)
    if made.not_applicable:
        raise NotApplicable(made.not_applicable)
    document = _measured(data, trial, pricing, workload, folder, made)
    if not document["cut_short"]:
        _write(record, document)
    return _deployed(trial, document, objective)


def cached(model, data, trial: Trial, pricing, workload, finetune) -> bool:
    """Whether ``trial`` was measured already (``measure`` then makes nothing)."""
    folder = _cache_folder(model, data, trial, pricing, workload, finetune)
    return (folder / "measured.json").is_file()


def _measured(data, trial: Trial, pricing, workload, folder: Path, made: Made):
    from thrifty.measure import profile
    from thrifty.pack import unpack

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.thrifty"
    path.write_bytes(made.packed)
    deployed = unpack(path)
    validation = profile(deployed, data, split="val", timing_budget_s=0.05)
    tensors = _tensors(path, deployed)
    options = measure_options(deployed, data, tensors, pricing, workload)
    layers = options[0]["cost"].layers
    return {
        "trial": trial.to_json(), "validation": validation.quality.value,
        "metric": validation.quality.metric, "bytes": path.stat().st_size,
        "seconds": made.seconds + time.perf_counter() - started, "path": str(path),
        "layers": [{"name": x.name, "op": x.op, "params": x.params, "flops": x.flops}
                   for x in layers],
        "tensors": tensors,
        "deployments": [{k: v for k, v in o.items() if k != "cost"} for o in options],
        "cut_short": made.cut_short,
    }  # fmt: skip


def start_of(model, data, trial: Trial, pricing, workload, finetune) -> Start:
    """Where ``trial``'s compression starts. A recipe whose first steps were measured already
    with the same fine-tuning starts from that measured model (the longest such prefix): the
    same result, as each technique's fine-tuning follows it alone, without doing those steps
    again. With distillation the teacher is the model the recipe starts from, so there only
    steps with nothing to fine-tune are added to a measured model."""
    from thrifty.compress import FineTune

    steps = trial.recipe.steps
    labels = (finetune or FineTune()).labels
    for cut in range(len(steps) - 1, 0, -1):
        rest = Recipe(steps[cut:])
        if not labels and any(technique(step).fine_tunes for step in rest):
            continue
        head = Trial(Recipe(steps[:cut]), trial.epochs)
        parent = _cache_folder(model, data, head, pricing, workload, finetune)
        if (parent / "measured.json").is_file():
            return Start(trial.recipe, (parent / "model.thrifty").read_bytes(), rest)
    return Start(trial.recipe, None, trial.recipe)


def _deployed(trial: Trial, record: dict[str, Any], objective: str) -> Measured:
    """``trial`` as measured, run the cheapest way by ``objective``: ``measured.json`` holds
    what its report.json object does (docs/REPORT.md) but that choice (and, in files from
    before it was recorded, ``cut_short``)."""
    best = cheapest(record["deployments"], objective)
    measured = Measured.from_json({"cut_short": False, **record, "deployment": best})
    return replace(measured, trial=trial)


def _tensors(path: Path, deployed) -> list[dict[str, Any]]:
    """Per weight tensor of the packed file: its encoding, bytes, bits per weight, sparsity."""
    from onnx import numpy_helper

    from thrifty.pack import inspect

    arrays = {t.name: numpy_helper.to_array(t) for t in deployed.proto.graph.initializer}
    rows = []
    for row in inspect(path).tensors:
        array = arrays.get(row.name)
        zeros = float((array == 0).mean()) if array is not None and array.size else 0.0
        rows.append(
            {"name": row.name, "shape": list(row.shape), "encoding": row.encoding,
             "bytes": row.bytes, "bits_per_weight": row.bits_per_weight, "sparsity": zeros}
        )  # fmt: skip
    return rows


def _cache_folder(model, data, trial: Trial, pricing, workload, finetune) -> Path:
    """Where ``trial``'s measurement is kept: a digest of everything it depends on, down to
    every field of every step (``repr``), thrifty's version (a changed technique measures
    again) and the CPU with its vector instructions (which decide what integer kernels gain)."""
    from thrifty.measure.machine import this_machine
    from thrifty.version import __version__

    key = json.dumps(
        {
            "model": hashlib.sha256(model.to_bytes()).hexdigest(),
            "data": _data_key(data),
            "trial": {"steps": repr(trial.recipe.steps), "epochs": trial.epochs},
            "thrifty": __version__,
            "machine": this_machine().to_dict(),
            "pricing": repr(pricing),
            "workload": {k: float(v) for k, v in asdict(workload).items()},  # 1e7 as 10000000
            "finetune": repr(finetune),
            "measured": 2,  # the form of measured.json
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return default_root() / "optimize" / digest


def _data_key(data) -> str:
    """The data set's description and a hash of every split's rows and labels."""
    digest = hashlib.sha256()
    for part in (data.train, data.val, data.test):
        for rows in (part.x, part.y):
            samples.digest(digest, rows)
    return json.dumps(data.describe(), sort_keys=True, default=str) + digest.hexdigest()


def _write(path: Path, document: dict[str, Any]) -> None:
    from thrifty.atomic import write_atomic

    write_atomic(path, (json.dumps(document, indent=1, default=str) + "\n").encode())
