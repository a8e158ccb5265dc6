"""What shipping a model moves, how fast, and what an interruption costs.

One run, on a 100 MB-class model (an MLP 784-4096-4096-1024-10 with PyTorch's default uniform
initialisation, fp32, packed: about 97 MB), served from a store folder by nginx over loopback:

1. Throughput: ``thrifty pull`` (fresh cache, chunks in parallel, each verified, the file
   assembled, checked and fsynced) against ``curl`` fetching the same bytes as one file from the
   same nginx, and against curl followed by an fsync of what it wrote (the same durability as
   a pull: on a disk whose fsync of 100 MB takes as long as curl's whole transfer, that is the
   bound); the median of 3 interleaved rounds each.
2. Dedup: version 2 changes only the last layer (its weights and bias moved by N(0, 1e-3), as a
   short fine-tuning of that layer would); pushing it, then pulling it where version 1 was
   pulled, moves the bytes reported here against the bytes of the records that changed (the
   header and the last layer's two records). It measures deduplication alone: version 2 is
   pushed without deltas (4 measures those).
3. Resume: a pull killed (SIGKILL) once about half the file is written (its journal says), then
   run again. nginx's access log counts every body byte it sent; refetched = those bytes - the
   file's size - its manifest's (each pull reads the manifest). Bytes in flight when the
   process died (the socket buffers of its connections: at most a 1 MiB span each) count as
   refetched: they crossed the wire but never reached the file. ``rewritten_bytes`` counts only
   what the killed pull had written and the resumed one fetched again.
4. Deltas: a model as a user ships it after a real fine-tune. Version 1 is the trained
   LeNet-300-100 baseline on Fashion-MNIST (``_common.baseline``, trained once into out/bench/),
   quantized ``int8-dynamic`` and packed. Version 2 is the same fp32 baseline fine-tuned for one
   epoch over Fashion-MNIST's training split with the project's trainer (Adam, seeded) at a
   tenth of the rate it was trained at (1e-4 against 1e-3), then quantized and packed the same
   way. Both are pushed (version 2 makes its deltas against version 1, which ``latest`` points
   at), then pulled from nginx into one cache, version 1 first. ``delta_over_full`` = the bytes
   the pull of version 2 moved (its header chunk, the deltas, and the records fetched whole:
   those without a delta; the manifest not counted) / version 2's file size.

    python benchmarks/transfer.py [--json] [--layers 784,4096,4096,1024,10]
                                  [--delta-model lenet-300-100] [--delta-data fashion-mnist]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

import thrifty as th
from _common import cpu, machine_line
from thrifty.pack.reader import read_header
from thrifty.ship.nginx import nginx

LAYERS = [784, 4096, 4096, 1024, 10]
ROUNDS = 3
RECIPE = "quantize:int8-dynamic"  # how the fine-tuned versions ship
FINE_TUNE_RATE = 1e-4  # a tenth of the training rate (TrainConfig's 1e-3): a low rate


def mlp(seed: int = 0, nudge_last: float = 0.0, layers: list[int] = LAYERS):
    """The benchmark's MLP as an ONNX graph; ``nudge_last`` moves the last layer's weights."""
    import onnx
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, weights, name = [], [], "x"
    for index, (fan_in, fan_out) in enumerate(pairwise(layers)):
        bound = 1 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        if index == len(layers) - 2 and nudge_last:
            nudge = np.random.default_rng(1)
            w += nudge.normal(0, nudge_last, w.shape).astype(np.float32)
            b += nudge.normal(0, nudge_last, b.shape).astype(np.float32)
        weights += [numpy_helper.from_array(w, f"fc{index}.weight")]
        weights += [numpy_helper.from_array(b, f"fc{index}.bias")]
        out = f"h{index}"
        inputs = [name, f"fc{index}.weight", f"fc{index}.bias"]
        nodes.append(helper.make_node("Gemm", inputs, [out], transB=1))
        if index < len(layers) - 2:
            nodes.append(helper.make_node("Relu", [out], [f"r{index}"]))
            out = f"r{index}"
        name = out
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", layers[0]])
    y = helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["batch", layers[-1]])
    graph = helper.make_graph(nodes, "mlp", [x], [y], weights)
    return th.load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def changed_records(old: Path, new: Path) -> int:
    """Bytes of the header and of every record whose SHA-256 differs between the files."""
    before, _ = read_header(old.read_bytes())
    after, body = read_header(new.read_bytes())
    hashes = {t["sha256"] for t in before["tensors"]}
    return body + sum(t["length"] for t in after["tensors"] if t["sha256"] not in hashes)


def timed(command, *args, **kwargs) -> float:
    start = time.perf_counter()
    command(*args, **kwargs)
    return time.perf_counter() - start


def throughput(url: str, whole: str, size: int, work: Path) -> dict:
    """Median MB/s of thrifty pull, of curl, and of curl followed by an fsync of the file it
    wrote (the durability a pull gives before it publishes), rounds interleaved."""
    pulls, curls, synced = [], [], []
    for round_ in range(ROUNDS):
        cache, out = work / f"cache-{round_}", work / f"pulled-{round_}.thrifty"
        pulls.append(timed(th.pull, url, "mlp@1", out, cache=cache))
        target = work / f"curled-{round_}.thrifty"
        curls.append(timed(curl, whole, target))
        target.unlink()
        synced.append(timed(curl, whole, target, fsync=True))
        out.unlink()
        target.unlink()
    pull_s, curl_s, synced_s = (float(np.median(t)) for t in (pulls, curls, synced))
    return {
        "pull_mb_per_s": size / pull_s / 1e6,
        "curl_mb_per_s": size / curl_s / 1e6,
        "pull_over_curl": curl_s / pull_s,
        "curl_fsync_mb_per_s": size / synced_s / 1e6,
        "pull_over_curl_fsync": synced_s / pull_s,
    }


def curl(url: str, target: Path, *, fsync: bool = False) -> None:
    subprocess.run(["curl", "-sf", "-o", str(target), url], check=True)
    if fsync:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def killed_and_resumed(url: str, size: int, manifest: int, work: Path, log: Path) -> dict:
    cache, out = work / "cache-killed", work / "killed.thrifty"
    script = f"import thrifty as th; th.pull({url!r}, 'mlp@1', {str(out)!r})"
    before = _sent(log)
    process = subprocess.Popen(
        [sys.executable, "-c", script], env={**os.environ, "THRIFTY_CACHE": str(cache)}
    )
    journal = work / ".killed.thrifty.pull.log"
    while _written(journal) < size / 2 and process.poll() is None:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    at_kill = _written(journal)
    resumed = th.pull(url, "mlp@1", out, cache=cache)
    time.sleep(0.2)  # nginx writes its log line as each request ends
    sent = _sent(log) - before
    return {
        "killed_at": at_kill / size,
        "refetched_bytes": sent - size - manifest,
        "rewritten_bytes": resumed.moved_bytes - (size - at_kill),
    }


def _sent(log: Path) -> int:
    if not log.exists():
        return 0
    return sum(int(line.split()[2]) for line in log.read_text().splitlines() if line.strip())


def _written(journal: Path) -> int:
    """Bytes a pull has written so far, from its resume journal (docs/STORE.md, Pull)."""
    held: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in journal.read_text().splitlines()[1:]:
            sha, count, *_ = line.split(" ")
            if count.isdigit():
                held[sha] = max(held.get(sha, 0), int(count))
    return sum(held.values())


def fine_tuned_versions(work: Path, name: str, data_name: str) -> tuple[Path, Path]:
    """Version 1: the trained baseline, compressed and packed; version 2: the same baseline
    fine-tuned one epoch at FINE_TUNE_RATE, compressed and packed the same way."""
    from _common import baseline
    from thrifty.datasets import load
    from thrifty.models.onnx_torch import to_torch, with_weights
    from thrifty.models.training import TrainConfig, train

    data = load(data_name)
    if data_name == "fashion-mnist":
        trained = baseline(name, data)
    else:  # a small set for tests: trained here, not cached
        th.train_baseline(name, data, work / f"{name}.onnx")
        trained = th.load(work / f"{name}.onnx")
    config = TrainConfig(epochs=1, learning_rate=FINE_TUNE_RATE, seed=1)
    tuned = with_weights(trained, train(to_torch(trained), data, config).module)
    v1, v2 = work / f"{name}-1.thrifty", work / f"{name}-2.thrifty"
    th.pack(th.compress(trained, RECIPE, data), v1)
    th.pack(th.compress(tuned, RECIPE, data), v2)
    return v1, v2


def deltas(url: str, store: Path, v1: Path, v2: Path, work: Path) -> dict:
    """Push both versions (the second with deltas from the first), pull both into one cache."""
    th.push(v1, store, "tuned@1")
    pushed = th.push(v2, store, "tuned@2")
    cache = work / "cache-delta"
    th.pull(url, "tuned@1", work / "tuned-1.thrifty", cache=cache)
    pulled = th.pull(url, "tuned@2", work / "tuned-2.thrifty", cache=cache)
    if (work / "tuned-2.thrifty").read_bytes() != v2.read_bytes():
        raise SystemExit("the pull of the fine-tuned version is not the file pushed")
    size = v2.stat().st_size
    before = {t["sha256"] for t in read_header(v1.read_bytes())[0]["tensors"]}
    after, _ = read_header(v2.read_bytes())
    return {
        "delta_over_full": pulled.moved_bytes / size,
        "delta_file_bytes": size,
        "delta_moved_bytes": pulled.moved_bytes,
        "delta_bytes": pushed.delta_bytes,
        "delta_records": pulled.delta_records,
        "delta_changed": sum(t["sha256"] not in before for t in after["tensors"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument(
        "--layers", default=",".join(map(str, LAYERS)), help="the MLP's widths (tests: small)"
    )
    parser.add_argument("--delta-model", default="lenet-300-100", help="zoo model of (4)")
    parser.add_argument(
        "--delta-data", default="fashion-mnist", help="its data set (tests: digits)"
    )
    args = parser.parse_args()
    layers = [int(width) for width in args.layers.split(",")]
    with tempfile.TemporaryDirectory(prefix="thrifty-transfer-") as folder:
        document = measure(Path(folder), layers, args.delta_model, args.delta_data)
    document["cpu"] = cpu()
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        show(document)
    return 0


def measure(work: Path, layers: list[int], delta_model: str, delta_data: str) -> dict:
    v1, v2, store = work / "v1.thrifty", work / "v2.thrifty", work / "store"
    th.pack(mlp(layers=layers), v1)
    th.pack(mlp(nudge_last=1e-3, layers=layers), v2)
    tuned = fine_tuned_versions(work, delta_model, delta_data)
    size = v1.stat().st_size
    th.push(v1, store, "mlp@1")
    (store / "whole").mkdir()
    os.link(v1, store / "whole" / "v1.thrifty")  # the same bytes as one file, for curl
    log = work / "access.log"
    with nginx(store, access_log=log) as url:
        speed = throughput(url, f"{url}/whole/v1.thrifty", size, work)
        th.pull(url, "mlp@1", work / "base.thrifty", cache=work / "cache-dedup")
        pushed = th.push(v2, store, "mlp@2", deltas=False)  # dedup alone: deltas are (4)
        pulled = th.pull(url, "mlp@2", work / "next.thrifty", cache=work / "cache-dedup")
        manifest = (store / "manifests/mlp/1.json").stat().st_size
        resume = killed_and_resumed(url, size, manifest, work, log)
        delta = deltas(url, store, *tuned, work)
    chunk = max(c.size for c in pushed.manifest.chunks)
    return {
        "file_bytes": size,
        **speed,
        "changed_bytes": changed_records(v1, v2),
        "moved_bytes": pulled.moved_bytes,
        "pushed_bytes": pushed.moved_bytes,
        "manifest_bytes": pushed.manifest_bytes,
        **resume,
        "chunk_bytes": chunk,
        **delta,
    }


def show(d: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"transfer: a {d['file_bytes'] / 1e6:.0f} MB model from nginx on loopback")
    for column in ("measure", "thrifty", "reference", "ratio", "target"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        "pull vs curl, MB/s", f"{d['pull_mb_per_s']:,.0f}", f"{d['curl_mb_per_s']:,.0f}",
        f"{d['pull_over_curl']:.2f}x", ">= 0.80x",
    )  # fmt: skip
    table.add_row(
        "pull vs curl then fsync (a pull is fsynced), MB/s", f"{d['pull_mb_per_s']:,.0f}",
        f"{d['curl_fsync_mb_per_s']:,.0f}", f"{d['pull_over_curl_fsync']:.2f}x", "",
    )  # fmt: skip
    table.add_row(
        "v2 (last layer changed): pulled vs changed bytes", f"{d['moved_bytes']:,}",
        f"{d['changed_bytes']:,}", f"{d['moved_bytes'] / d['changed_bytes']:.2f}x",
        "<= 1.10x + manifest",
    )  # fmt: skip
    table.add_row(
        "v2: pushed vs changed bytes", f"{d['pushed_bytes']:,}", f"{d['changed_bytes']:,}",
        f"{d['pushed_bytes'] / d['changed_bytes']:.2f}x", f"+ {d['manifest_bytes']:,} manifest",
    )  # fmt: skip
    table.add_row(
        f"killed at {d['killed_at']:.0%} and resumed: refetched vs one chunk",
        f"{d['refetched_bytes']:,}", f"{d['chunk_bytes']:,}",
        f"{d['refetched_bytes'] / d['chunk_bytes']:.2f}", "<= 1 chunk",
    )  # fmt: skip
    table.add_row(
        "  of which written before the kill", f"{d['rewritten_bytes']:,}", "", "", "",
    )  # fmt: skip
    table.add_row(
        f"fine-tuned 1 epoch, deltas: pulled vs file ({d['delta_records']} of "
        f"{d['delta_changed']} changed tensors from deltas)", f"{d['delta_moved_bytes']:,}",
        f"{d['delta_file_bytes']:,}", f"{d['delta_over_full']:.1%}", "<= 30%",
    )  # fmt: skip
    Console(width=120).print(table)
    Console(width=120).print(machine_line())


if __name__ == "__main__":
    sys.exit(main())
