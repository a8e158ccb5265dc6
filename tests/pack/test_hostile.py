"""Hostile files: each rule of docs/FORMAT.md refused with its own error, fast and without memory.

tests/pack/hostile/ holds one small file per broken rule (make_hostile.py writes them, and
EXPECTED.json says which error each must raise). Then every truncation and every single-bit flip
of a real file, and the CLI's one-line error.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import onnx.checker  # noqa: F401  (imported now: the imports are not what tracemalloc measures)
import pytest
from onnx import numpy_helper  # noqa: F401

import thrifty as th
import thrifty.models.onnx_file  # noqa: F401
from thrifty import errors
from thrifty.pack.format import PREAMBLE, PREAMBLE_SIZE
from thrifty.pack.header import parse_header
from thrifty.pack.reader import decode, read_header
from thrifty.pack.writer import write_pack

pytestmark = pytest.mark.timeout(120)

HERE = Path(__file__).parent
FOLDER = HERE / "hostile"
EXPECTED: dict[str, str] = json.loads((FOLDER / "EXPECTED.json").read_text())
# Errors found only once the records are read: inspect, which reads the header alone, passes.
BODY_ERRORS = {"RecordChecksumMismatch", "CorruptStream", "CorruptModel", "UnsafeModel"}
BODY_FILES = {"rans-alphabet-4097.thrifty"}  # an InvalidHeader of the stream's own coder
# The one hash each of these files breaks on purpose (or cannot be checked)
BROKEN_HASH = {
    "header-checksum.thrifty": "header",
    "record-checksum.thrifty": "w.zstd",
    "body-checksum.thrifty": "body",
    "sha256-not-hex.thrifty": "body",
}


@functools.cache
def generator():
    """tests/pack/make_hostile.py, imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_hostile", HERE / "make_hostile.py")
    module = sys.modules["make_hostile"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> bytes:
    """A real packed file of 2.7 KB whose six weights take every layout and coder."""
    path = tmp_path_factory.mktemp("valid") / "valid.thrifty"
    write_pack(generator().base_model(), path, {"creator": "test"})
    return path.read_bytes()


def measured(call):
    """The ThriftyError ``call()`` raises (any other propagates), its peak of traced memory
    (numpy's arrays included) and its seconds."""
    tracemalloc.start()
    start, caught = time.perf_counter(), None
    try:
        call()
    except errors.ThriftyError as error:
        caught = error
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return caught, peak, seconds


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_unpack_raises_exactly_the_expected_error(name):
    path = FOLDER / name
    assert path.stat().st_size < 4096
    error, peak, seconds = measured(lambda: th.unpack(path))
    assert type(error).__name__ == EXPECTED[name], repr(error)
    assert isinstance(error, errors.ThriftyError)
    assert peak < 50 * 2**20, f"{peak / 2**20:.1f} MB"
    assert seconds < 2.0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inspect_raises_the_header_errors(name):
    error, peak, _ = measured(lambda: th.inspect(FOLDER / name))
    if error is None:  # inspect reads the header only; the file breaks a rule of its records
        assert EXPECTED[name] in BODY_ERRORS or name in BODY_FILES
    else:
        assert type(error).__name__ == EXPECTED[name]
        assert EXPECTED[name] not in BODY_ERRORS and name not in BODY_FILES
    assert peak < 50 * 2**20


def test_the_folder_is_what_the_generator_writes(tmp_path):
    assert generator().generate(tmp_path) == EXPECTED
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(path.name for path in FOLDER.iterdir())
    for name in written:
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_hash_holds_but_the_one_a_file_breaks(name):
    """So that each file reaches the check it is named after, not a checksum before it."""
    data, broken = (FOLDER / name).read_bytes(), BROKEN_HASH.get(name)
    if len(data) < PREAMBLE_SIZE:
        return
    length, digest = PREAMBLE.unpack_from(data)[3:]
    raw = data[PREAMBLE_SIZE : PREAMBLE_SIZE + length]
    if len(raw) < length:
        return  # a header cut short, or a length that is the rule broken
    assert (hashlib.sha256(raw).digest() == digest) == (broken != "header")
    try:
        header = json.loads(raw)
        records = [header["graph"], *header["tensors"]]
    except (ValueError, TypeError, KeyError, RecursionError):
        return
    body = data[PREAMBLE_SIZE + length :]
    assert (header.get("body_sha256") == sha(body)) == (broken != "body")
    for entry in records:
        if isinstance(entry, dict) and 0 <= entry.get("offset", -1) < len(body):
            record = body[entry["offset"] :][: entry["length"]]
            if entry["offset"] + entry["length"] <= len(body):
                wanted = entry.get("name", "graph") != broken
                assert (entry["sha256"] == sha(record)) == wanted, entry.get("name")


@pytest.mark.parametrize(
    "raw, error",
    [
        (b'{"metadata": ' + b"1" * 5000 + b"}", errors.HeaderNotJson),  # int() refuses 4300+
        (b'{"a": Infinity}', errors.HeaderNotJson),
        (b'{"a": {"b": 1, "b": 2}}', errors.DuplicateKey),
        (b'{"a": "\\udfff"}', errors.HeaderNotUtf8),
        (b"[" * 100_000, errors.HeaderNotJson),
    ],
)
def test_headers_too_big_or_odd_for_a_small_file(raw, error):
    with pytest.raises(error):
        parse_header(raw)


def test_more_than_100_000_tensors_is_invalid(valid):
    header, start = read_header(valid)
    header["tensors"] = [{}] * 100_001
    big = json.dumps(header).encode()
    data = PREAMBLE.pack(b"THRIFTY\0", 1, 0, len(big), hashlib.sha256(big).digest()) + big
    with pytest.raises(errors.InvalidHeader, match="at most 100000"):
        decode(data + valid[start:])


def test_the_valid_file_decodes(valid):
    assert len(valid) < 4 * 1024
    assert set(decode(valid).arrays) == {t.name for t in generator().base_model().graph.initializer}


def test_every_truncation_is_a_truncated_file(valid, tmp_path):
    path, seen = tmp_path / "cut.thrifty", Counter()
    for end in range(len(valid)):
        path.write_bytes(valid[:end])
        with pytest.raises(errors.PackFormatError) as caught:
            th.unpack(path)
        seen[type(caught.value).__name__] += 1
    assert seen == {"TruncatedFile": len(valid)}  # FORMAT.md: shorter than it says it is


def test_every_bit_flip_is_refused(valid):
    """Every bit of the preamble and header, and one body bit in 5: the hashes see them all."""
    header_end = PREAMBLE_SIZE + PREAMBLE.unpack_from(valid)[3]
    bits = list(range(8 * header_end))
    bits += np.random.default_rng(0).choice(range(8 * header_end, 8 * len(valid)), 1000).tolist()
    seen = Counter()
    for bit in bits:
        data = bytearray(valid)
        data[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(errors.PackFormatError) as caught:
            decode(bytes(data))  # what read_pack runs on the mapped file
        seen[type(caught.value).__name__] += 1
    assert seen["HeaderChecksumMismatch"] > 8 * (header_end - PREAMBLE_SIZE)
    assert seen["RecordChecksumMismatch"] == 1000


@pytest.mark.parametrize(
    "args",
    [["inspect", "bad-magic.thrifty"], ["unpack", "zstd-bomb.thrifty", "-o", "{out}"]],
    ids=["inspect", "unpack"],
)
def test_cli_prints_one_line_and_exits_1(args, tmp_path):
    args = [arg.format(out=tmp_path / "out.onnx") for arg in args]
    result = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", *args],
        capture_output=True,
        text=True,
        cwd=FOLDER,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out.onnx").exists()


MEANING = {
    "NotAThriftyFile": "is not a .thrifty file",
    "UnsupportedVersion": "is from a newer thrifty, or corrupt",
    "UnsafeModel": "is unsafe to load",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_error_names_the_file_and_says_what_it_means(name):
    path = FOLDER / name
    with pytest.raises(errors.ThriftyError) as caught:
        th.load(path)  # as profile, compress, optimize and predict open it
    assert type(caught.value).__name__ == EXPECTED[name]
    meaning = MEANING.get(EXPECTED[name], "is truncated or corrupt")
    assert str(caught.value).startswith(f"{path} {meaning}: "), caught.value


def test_a_cut_file_is_named_wherever_it_is_read(valid, tmp_path):
    path = tmp_path / "cut.thrifty"
    path.write_bytes(valid[:-100])  # the header whole, the records cut short
    for read in (th.unpack, th.inspect, lambda p: th.push(p, tmp_path / "store", "m@1")):
        with pytest.raises(
            errors.TruncatedFile, match=f"^{re.escape(str(path))} is truncated or corrupt: "
        ):
            read(path)
    result = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", "inspect", "cut.thrifty"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cut.thrifty is truncated or corrupt: records end at")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [(".", "is a folder; give a .thrifty file"), ("missing.thrifty", "does not exist")],
    ids=["a-folder", "missing"],
)
def test_a_path_that_is_not_a_file_is_refused(tmp_path, name, message):
    for read in (th.unpack, th.inspect):
        with pytest.raises(errors.ModelError, match=message):
            read(tmp_path / name)
