"""One candidate, measured as it would be deployed: compressed, packed, unpacked, run in each
runtime and setting (``deploy.py``), its quality taken on held-out data and its Cost priced
into a Bill. Measurements are
cached (``$THRIFTY_CACHE/optimize``), keyed by the model's bytes, the data set, the recipe and
the fine-tuning, so a re-run of the same search is fast."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from thrifty.datasets import samples
from thrifty.optimize.deploy import cheapest, measure_options
from thrifty.report.candidate import Candidate
from thrifty.ship.cache import default_root

OBJECTIVES = ("money", "latency", "size", "bandwidth")
TOLERANCE = 1e-9  # a drop of exactly the budget is within it, whatever the float rounding


@dataclass(frozen=True)
class Trial:
    """A candidate: a compression recipe ("" for the model as it is) and fine-tuning epochs."""

    recipe: str
    epochs: int


class Measured(Candidate):
    """A candidate as the search holds it: the report's record, with the trial it measured
    (the record keeps the recipe as text, as report.json does)."""

    @property
    def trial(self) -> Trial:
        return Trial(self.recipe, self.epochs)


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
) -> Measured:
    """Compress (unless the recipe is empty), pack, unpack and run in each runtime and setting:
    the candidate as deployed, the cheapest way by ``objective``. Fine-tuning stops at
    ``deadline`` (a ``time.monotonic()`` instant), keeping its best weights. Cached: the same
    model, data, trial and settings are measured once, whatever the objective; a trial cut
    short by the deadline is measured as it is and not cached, so a longer search redoes it.
    ``scans``: the search's sensitivity scans (``thrifty.compress.prune.Scans``), for pruning."""
    folder = _cache_folder(model, data, trial, pricing, workload, finetune)
    record = folder / "measured.json"
    if record.is_file():
        return _deployed(json.loads(record.read_text()), objective)
    document = _measured(model, data, trial, pricing, workload, finetune, folder, deadline, scans)
    if not document["cut_short"]:
        _write(record, document)
    return _deployed(document, objective)


def _measured(
    model, data, trial: Trial, pricing, workload, finetune, folder: Path, deadline, scans
):
    import time

    from thrifty.measure import profile
    from thrifty.pack import pack, unpack

    started = time.perf_counter()
    candidate = _compressed(model, data, trial, pricing, workload, finetune, deadline, scans)
    cut_short = trial.epochs > 0 and deadline is not None and time.monotonic() > deadline
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.thrifty"
    pack(candidate, path, metadata={"recipe": trial.recipe or "none"})
    deployed = unpack(path)
    validation = profile(deployed, data, split="val", timing_budget_s=0.05)
    tensors = _tensors(path, deployed)
    options = measure_options(deployed, data, tensors, pricing, workload)
    layers = options[0]["cost"].layers
    return {
        "trial": asdict(trial), "validation": validation.quality.value,
        "metric": validation.quality.metric, "bytes": path.stat().st_size,
        "seconds": time.perf_counter() - started, "path": str(path),
        "layers": [{"name": x.name, "op": x.op, "params": x.params, "flops": x.flops}
                   for x in layers],
        "tensors": tensors,
        "deployments": [{k: v for k, v in o.items() if k != "cost"} for o in options],
        "cut_short": cut_short,
    }  # fmt: skip


def _compressed(model, data, trial: Trial, pricing, workload, finetune, deadline, scans):
    """The candidate: the model compressed by the trial's recipe. A recipe whose first steps
    were measured already with the same fine-tuning starts from that measured model (the
    longest such prefix): the same result, as each technique's fine-tuning follows it alone
    and quantization comes after fine-tuning, without doing those steps again. With
    distillation the teacher is the model the recipe starts from, so there only quantization
    is added to a measured model."""
    from thrifty.compress import compress
    from thrifty.pack import unpack

    if not trial.recipe:
        return model
    steps = trial.recipe.split(",")
    tuning = _epochs(finetune, trial.epochs)
    for cut in range(len(steps) - 1, 0, -1):
        rest = ",".join(steps[cut:])
        if not tuning.labels and not all(s.startswith("quantize:") for s in steps[cut:]):
            continue
        head = Trial(",".join(steps[:cut]), trial.epochs)
        parent = _cache_folder(model, data, head, pricing, workload, finetune)
        if (parent / "measured.json").is_file():
            start = unpack(parent / "model.thrifty")
            return compress(start, rest, data, finetune=tuning, deadline=deadline, scans=scans)
    return compress(model, trial.recipe, data, finetune=tuning, deadline=deadline, scans=scans)


def _deployed(record: dict[str, Any], objective: str) -> Measured:
    """The measured candidate, run the cheapest way by ``objective``: ``measured.json`` holds
    what its report.json object does (docs/REPORT.md) but that choice (and, in files from
    before it was recorded, ``cut_short``)."""
    best = cheapest(record["deployments"], objective)
    return Measured.from_json({"cut_short": False, **record, "deployment": best})


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


def _epochs(finetune, epochs: int):
    from dataclasses import replace

    from thrifty.compress import FineTune

    return replace(finetune or FineTune(), epochs=epochs)


def _cache_folder(model, data, trial: Trial, pricing, workload, finetune) -> Path:
    key = json.dumps(
        {
            "model": hashlib.sha256(model.to_bytes()).hexdigest(),
            "data": _data_key(data),
            "trial": asdict(trial),
            "pricing": repr(pricing),
            "workload": repr(workload),
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
