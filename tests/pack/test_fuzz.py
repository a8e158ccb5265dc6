"""Fuzzing the reader: whatever the bytes, thrifty.unpack gives a model or raises a ThriftyError.

Random bytes; overwrites, insertions, deletions and splices of valid files; and header JSON
edited field by field. Half the mutants are "resealed" (every hash made right again), so that
they get past the checksums to the checks and decoders behind them. The seeds are two valid
files and every file of tests/pack/hostile/, each also tried as it is (``@example``). The check
is fuzz_reader.py's, which atheris runs for longer by hand.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from thrifty import errors
from thrifty.pack.format import PREAMBLE, PREAMBLE_SIZE
from thrifty.pack.reader import decode, read_header
from thrifty.pack.writer import write_pack

pytestmark = pytest.mark.timeout(300)

HERE = Path(__file__).parent
SETTINGS = settings(max_examples=300, deadline=None)


def load(name: str):
    """A module of tests/pack by path (tests/ is not a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


fuzz = load("fuzz_reader")


def odd_model() -> onnx.ModelProto:
    """The dtypes and shapes make_hostile's model lacks: bool, bfloat16, a scalar, an empty."""
    import ml_dtypes

    rng = np.random.default_rng(1)
    weights = {
        "bool": np.array(True),
        "bf16": rng.standard_normal(70).astype(ml_dtypes.bfloat16),
        "empty": np.zeros((0, 3), np.float16),
        "u64": np.where(rng.random(300) < 0.02, 2**64 - 1, 0).astype(np.uint64),
        "i8": rng.choice([-128, 0, 5, 127], 200).astype(np.int8),
        "f64": np.where(rng.random(500) < 0.3, -0.0, np.nan),
    }
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "odd", [x], [y])
    graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in weights.items())
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@functools.cache
def valid_files() -> tuple[bytes, ...]:
    import tempfile

    models = [load("make_hostile").base_model(), odd_model()]
    with tempfile.TemporaryDirectory() as folder:
        for index, proto in enumerate(models):
            write_pack(proto, Path(folder) / f"{index}.thrifty", {"seed": index})
        return tuple(Path(folder, f"{index}.thrifty").read_bytes() for index in range(2))


HOSTILE = tuple(path.read_bytes() for path in sorted((HERE / "hostile").glob("*.thrifty")))
SEEDS = valid_files() + HOSTILE
BYTE = st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]) | st.integers(0, 255)


@st.composite
def mutants(draw) -> bytes:
    """One to four overwrites, insertions, deletions or splices of a seed, half of them in its
    records (behind a header of 2 KB, they would be rare); then, half the time, resealed."""
    seed = draw(st.sampled_from(valid_files()) | st.sampled_from(SEEDS))
    data = bytearray(seed)
    body = PREAMBLE_SIZE + PREAMBLE.unpack_from(seed)[3] if len(seed) >= PREAMBLE_SIZE else 0
    for _ in range(draw(st.integers(1, 4))):
        low = min(body, len(data)) if draw(st.booleans()) else 0
        at = draw(st.integers(low, len(data)))
        action = draw(st.sampled_from(["overwrite", "insert", "delete", "splice"]))
        if action == "overwrite" and data:
            data[min(at, len(data) - 1)] = draw(BYTE)
        elif action == "insert":
            data[at:at] = draw(st.lists(BYTE, min_size=1, max_size=16))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "splice":
            other = draw(st.sampled_from(SEEDS))
            data = data[:at] + other[draw(st.integers(0, len(other))) :]
    return fuzz.reseal(bytes(data)) if draw(st.booleans()) else bytes(data)


NAMES = [
    "raw",
    "zstd",
    "rans",
    "enumerative",
    "bitpack",
    "dense",
    "sparse",
    "bitmask",
    "gaps",
    "codebook",
]
NAMES += ["float32", "bfloat16", "bool", "uint64", "w.dense", "graph", ""]
INTS = [0, 1, 2, 3, 63, 64, 255, 256, 257, 4096, 4097, 2**31, 2**32, 2**32 + 1, 2**63 - 1]
INTS += [2**63, 2**64, -1, -(2**63)]
SCALARS = (
    st.none()
    | st.booleans()
    | st.sampled_from(INTS)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(NAMES)
    | st.text(max_size=8)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@st.composite
def edited(draw) -> bytes:
    """A valid file with one to three header fields set to other JSON, nudged, or deleted, and
    its header's hash made right; its records' hashes too, half the time."""
    data = draw(st.sampled_from(valid_files()))
    header, start = read_header(data)
    for _ in range(draw(st.integers(1, 3))):
        node = header
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            if isinstance(node[key], dict | list) and node[key] and draw(st.booleans()):
                node = node[key]
                continue
            action = draw(st.sampled_from(["set", "nudge", "nudge", "delete"]))
            if action == "nudge" and isinstance(node[key], int):
                node[key] += draw(st.integers(-3, 3))
            elif action == "delete":
                del node[key]
            else:
                node[key] = draw(JSON)
            break
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    digest = hashlib.sha256(raw).digest()
    data = PREAMBLE.pack(data[:8], 1, 0, len(raw), digest) + raw + data[start:]
    return fuzz.reseal(data) if draw(st.booleans()) else data


def with_seeds(test):
    for seed in SEEDS:
        test = example(blob=seed)(test)
    return test


@pytest.fixture(scope="module")
def path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "input.thrifty"


@SETTINGS
@with_seeds
@given(blob=st.binary(max_size=3000) | mutants())
def test_mutated_bytes_raise_only_thrifty_errors(path, blob):
    fuzz.check(blob, path)


@SETTINGS
@given(blob=edited())
def test_edited_headers_raise_only_thrifty_errors(path, blob):
    fuzz.check(blob, path)


def test_reseal_gets_a_damaged_record_past_the_checksums():
    data = valid_files()[0]
    assert fuzz.reseal(data) == data  # nothing to make right in a valid file
    damaged = data[:-1] + bytes([data[-1] ^ 1])  # the last byte of the last record
    with pytest.raises(errors.RecordChecksumMismatch):
        decode(damaged)
    try:
        decode(fuzz.reseal(damaged))
    except errors.ThriftyError as error:
        assert not isinstance(error, errors.RecordChecksumMismatch | errors.HeaderChecksumMismatch)
