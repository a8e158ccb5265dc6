"""Coverage-guided fuzzing of the .thrifty reader with atheris, for runs longer than the tests.

    pip install atheris
    python tests/pack/fuzz_reader.py tests/pack/hostile -max_total_time=600

libFuzzer adds the inputs it finds to the first corpus folder it is given; so that
tests/pack/hostile stays what make_hostile.py writes, a scratch folder is put first (its path is
printed). Each input is read as it is, then "resealed" (every hash made right again, see
``reseal``), so that mutations get past the checksums to the decoders behind them. Only
thrifty's own errors (ThriftyError) may escape ``thrifty.unpack``; anything else is a crash,
which libFuzzer saves as ``crash-<sha1>`` in the current folder: replay one with
``python tests/pack/fuzz_reader.py crash-<sha1>``.

tests/pack/test_fuzz.py runs the same ``check`` under hypothesis, with a bounded budget.
Not a test module (its name does not start with test_): pytest does not collect it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from hashlib import sha256
from pathlib import Path

HOSTILE = Path(__file__).parent / "hostile"
# thrifty is imported inside the functions: main() must import it first, to instrument it.


def reseal(data: bytes) -> bytes:
    """``data`` with its hashes made right where its header is JSON: each record's (where it
    lies inside the body), the body's, then the header's (and its length) in the preamble."""
    from thrifty.pack.format import PREAMBLE, PREAMBLE_SIZE

    if len(data) < PREAMBLE_SIZE:
        return data
    magic, version, flags, length, _ = PREAMBLE.unpack_from(data)
    raw, body = data[PREAMBLE_SIZE:][:length], data[PREAMBLE_SIZE + length :]
    try:
        header = json.loads(raw)
        for entry in [header["graph"], *header["tensors"]]:
            start, size = entry["offset"], entry["length"]
            if start >= 0 and start + size <= len(body):
                entry["sha256"] = sha256(body[start : start + size]).hexdigest()
        header["body_sha256"] = sha256(body).hexdigest()
        raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        pass  # not a header that can be re-hashed: only the preamble's hash is made right
    return PREAMBLE.pack(magic, version, flags, len(raw), sha256(raw).digest()) + raw + body


def check(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` and unpack it: a model or a ThriftyError, nothing else."""
    import thrifty
    from thrifty.errors import ThriftyError

    path.write_bytes(data)
    with contextlib.suppress(ThriftyError):
        thrifty.unpack(path)


def corpus_first(argv: list[str]) -> list[str]:
    """``argv`` with a scratch corpus folder first when one given is tests/pack/hostile; the
    scratch folder starts with a valid packed file (make_hostile's model) as one more seed."""
    folders = [arg for arg in argv[1:] if not arg.startswith("-") and Path(arg).is_dir()]
    if not any(Path(folder).resolve() == HOSTILE.resolve() for folder in folders):
        return argv
    from make_hostile import base_model  # tests/pack is sys.path[0] when run as a script

    from thrifty.pack.writer import write_pack

    scratch = tempfile.mkdtemp(prefix="thrifty-fuzz-corpus-")
    write_pack(base_model(), Path(scratch) / "valid.thrifty")
    print(f"new inputs go to {scratch}", file=sys.stderr)
    return [argv[0], scratch, *argv[1:]]


def main() -> None:
    import atheris

    with atheris.instrument_imports(include=["thrifty"]):  # coverage guides the search
        import thrifty.models.model  # noqa: F401
        import thrifty.models.onnx_file  # noqa: F401
        import thrifty.pack.reader  # noqa: F401  (and the header, tensors and coders modules)
    path = Path(tempfile.mkdtemp(prefix="thrifty-fuzz-")) / "input.thrifty"

    def test_one_input(data: bytes) -> None:
        check(data, path)
        check(reseal(data), path)

    atheris.Setup(corpus_first(sys.argv), test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
