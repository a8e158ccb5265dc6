"""The stream coders: lossless, deterministic, near-entropy rANS, and safe on hostile payloads."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from thrifty.errors import CorruptStream, InvalidHeader
from thrifty.pack.coders import CODERS, decode_stream, encode_stream

pytestmark = pytest.mark.timeout(120)  # a decoder that loops on hostile bytes fails, not hangs

SETTINGS = settings(max_examples=200, deadline=None)


@st.composite
def streams(draw):
    """(symbols, alphabet): uniform to nearly constant, over alphabets on both sides of 4096."""
    alphabet = draw(st.integers(1, 5000))
    count = draw(st.integers(0, 5000))
    skew = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 8.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.permutation((np.arange(alphabet) + 1.0) ** -skew)
    return rng.choice(alphabet, size=count, p=weights / weights.sum()), alphabet


def applies(name: str, count: int, alphabet: int) -> bool:
    limit = {"rans": 2**32, "enumerative": 4096}.get(name)
    return limit is None or (1 <= count <= limit and 2 <= alphabet <= 4096)


@pytest.mark.parametrize("name", CODERS)
@SETTINGS
@given(stream=streams())
def test_each_coder_round_trips_deterministically(name, stream):
    symbols, alphabet = stream
    payload = CODERS[name].encode(symbols, alphabet)
    if not applies(name, len(symbols), alphabet):
        assert payload is None
        return
    decoded = CODERS[name].decode(payload, len(symbols), alphabet)
    assert decoded.dtype == np.min_scalar_type(alphabet - 1)
    np.testing.assert_array_equal(decoded, symbols)
    assert CODERS[name].encode(symbols, alphabet) == payload


@SETTINGS
@given(stream=streams())
def test_encode_stream_keeps_the_smallest_first_in_order(stream):
    symbols, alphabet = stream
    description, payload = encode_stream(symbols, alphabet)
    sizes = {}
    for name, coder in CODERS.items():
        if (candidate := coder.encode(symbols, alphabet)) is not None:
            sizes[name] = len(candidate)
    assert description == {
        "coder": min(sizes, key=sizes.get),  # the first of the smallest: ties go by CODERS
        "count": len(symbols),
        "alphabet": alphabet,
        "length": len(payload),
    }
    assert encode_stream(symbols, alphabet) == (description, payload)
    np.testing.assert_array_equal(decode_stream(description, payload), symbols)


def test_an_empty_stream_is_an_empty_bitpack():
    assert encode_stream(np.zeros(0, np.int64), 7) == (
        {"coder": "bitpack", "count": 0, "alphabet": 7, "length": 0},
        b"",
    )


def test_bitpack_and_rans_bytes_are_pinned():
    """The exact bytes of docs/FORMAT.md: a change here breaks every file already written."""
    symbols = np.array([0, 3, 2, 3, 2, 0, 2, 1])
    assert CODERS["bitpack"].encode(symbols, 5).hex() == "982628"
    # dense table: form 0, then the counts 2 1 3 2; then the code's words
    assert CODERS["rans"].encode(symbols, 4).hex() == "0002010302000020d703000000"
    # sparse table: form 1, 3 symbols used: 0 (count 1), 5 (skip 4, count 1), 900 (skip 894, 3)
    wide = np.array([0, 900, 900, 5, 900])
    assert CODERS["rans"].encode(wide, 1000).hex() == "010300010401fe06035f350021"


def test_enumerative_bytes_are_pinned():
    """The table, then the rank among the 8! / (2! 1! 3! 2!) = 1680 orderings, in 2 bytes."""
    symbols = np.array([0, 3, 2, 3, 2, 0, 2, 1])
    assert (
        CODERS["enumerative"].encode(symbols, 4).hex() == "00020103028b01"
    )  # rank 395, checked by listing all 1680
    assert CODERS["enumerative"].encode(np.sort(symbols), 4).hex() == "00020103020000"  # rank 0
    assert CODERS["enumerative"].encode(np.zeros(9, int), 2).hex() == "000900"  # one ordering


@SETTINGS
@given(stream=streams())
def test_enumerative_code_is_never_above_the_entropy(stream):
    """The rank alone (the table aside) takes at most ceil(count x H / 8) bytes."""
    symbols, alphabet = stream
    payload = CODERS["enumerative"].encode(symbols, alphabet)
    if payload is None:
        return
    from thrifty.pack.coders.counts import read_counts

    _, table = read_counts(payload, alphabet, len(symbols))
    assert len(payload) - table <= np.ceil(entropy_bytes(symbols, alphabet) + 1e-9)


@pytest.mark.parametrize("name", CODERS)
def test_decoders_take_a_memoryview(name):
    symbols = np.arange(600) % 3
    payload = CODERS[name].encode(symbols, 3)
    description = {"coder": name, "count": 600, "alphabet": 3, "length": len(payload)}
    np.testing.assert_array_equal(decode_stream(description, memoryview(payload)), symbols)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int32, np.uint64, np.int64])
def test_any_integer_dtype_encodes(dtype):
    symbols = (np.random.default_rng(3).random(5000) < 0.1).astype(dtype)
    description, payload = encode_stream(symbols, 2)
    assert description["coder"] == "rans"
    np.testing.assert_array_equal(decode_stream(description, payload), symbols)


@pytest.mark.parametrize("name", ["bitpack", "zstd"])
@pytest.mark.parametrize("alphabet", [256, 257, 65536, 65537, 2**32])
def test_wide_alphabets_round_trip(name, alphabet):
    symbols = np.array([0, 1, alphabet // 2, alphabet - 1], dtype=np.int64)
    payload = CODERS[name].encode(symbols, alphabet)
    decoded = CODERS[name].decode(payload, 4, alphabet)
    assert decoded.dtype == np.min_scalar_type(alphabet - 1)
    np.testing.assert_array_equal(decoded, symbols)


def skewed() -> tuple[np.ndarray, int]:
    probabilities = 0.7 ** np.arange(32)
    rng = np.random.default_rng(0)
    return rng.choice(32, size=200_000, p=probabilities / probabilities.sum()), 32


def binary() -> tuple[np.ndarray, int]:
    return (np.random.default_rng(1).random(235_200) < 0.08).astype(np.uint8), 2


def entropy_bytes(symbols: np.ndarray, alphabet: int) -> float:
    p = np.bincount(symbols, minlength=alphabet) / len(symbols)
    p = p[p > 0]
    return len(symbols) * float(-(p * np.log2(p)).sum()) / 8


def table_bytes(symbols: np.ndarray, alphabet: int) -> int:
    counts = np.bincount(symbols, minlength=alphabet).tolist()
    return sum(max(1, -(-count.bit_length() // 7)) for count in counts)


@pytest.mark.parametrize("stream", [skewed, binary])
def test_rans_is_within_one_percent_of_the_entropy(stream):
    symbols, alphabet = stream()
    description, payload = encode_stream(symbols, alphabet)
    entropy = entropy_bytes(symbols, alphabet)
    assert description["coder"] == "rans"
    assert len(payload) - table_bytes(symbols, alphabet) <= 1.01 * entropy
    assert len(payload) <= 1.01 * entropy


# Hostile payloads: each must raise CorruptStream, never another exception, never hang.

HOSTILE = np.random.default_rng(7).choice(5, size=300, p=[0.6, 0.2, 0.1, 0.07, 0.03])


def decode_or_corrupt(name: str, payload: bytes, count: int = 300, alphabet: int = 5):
    """None for CorruptStream; otherwise the symbols, which must then be a valid stream."""
    try:
        symbols = CODERS[name].decode(payload, count, alphabet)
    except CorruptStream:
        return None
    assert len(symbols) == count
    assert count == 0 or int(symbols.max()) < alphabet
    return symbols


@pytest.mark.parametrize("name", CODERS)
def test_every_truncation_is_refused(name):
    payload = CODERS[name].encode(HOSTILE, 5)
    for end in range(len(payload)):
        assert decode_or_corrupt(name, payload[:end]) is None, end


@pytest.mark.parametrize("name", CODERS)
@pytest.mark.parametrize(
    "tail", [b"\x00", b"\x01", b"\x00" * 4, b"\x01\x00\x00\x00", b"\xff" * 8, bytes(range(64))]
)
def test_every_extension_is_refused(name, tail):
    assert decode_or_corrupt(name, CODERS[name].encode(HOSTILE, 5) + tail) is None


@pytest.mark.parametrize("name", CODERS)
def test_bit_flips_are_refused_or_decode_to_a_valid_stream(name):
    """bitpack and zstd (no checksum) cannot see every flip; the record's SHA-256 does."""
    payload = CODERS[name].encode(HOSTILE, 5)
    refused = 0
    for bit in range(8 * len(payload)):
        flipped = bytearray(payload)
        flipped[bit // 8] ^= 1 << (bit % 8)
        refused += decode_or_corrupt(name, bytes(flipped)) is None
    assert refused > 0
    if name == "rans":  # the frequency table and is_empty catch every one of these
        assert refused == 8 * len(payload)


@pytest.mark.parametrize(
    "payload, count, alphabet",
    [
        (b"\x03", 1, 3),  # symbol 3 of alphabet 3
        (b"\x07", 1, 5),  # symbol 7 of alphabet 5
        (b"\x08", 3, 2),  # a padding bit set
        (b"\x80", 1, 2),  # a padding bit set, the last one
        (b"", 1, 2),
    ],
)
def test_bitpack_refuses_big_symbols_and_padding(payload, count, alphabet):
    with pytest.raises(CorruptStream):
        CODERS["bitpack"].decode(payload, count, alphabet)


def zstd_frame(data: bytes, **options) -> bytes:
    return zstandard.ZstdCompressor(level=3, **options).compress(data)


@pytest.mark.parametrize(
    "payload, count, alphabet",
    [
        (zstd_frame(bytes([0, 1, 5])), 3, 5),  # symbol 5 of alphabet 5
        (zstd_frame(bytes(300), write_content_size=False), 300, 2),  # size not declared
        (zstd_frame(bytes(300)), 299, 2),  # declared size is not count x width
        (zstd_frame(bytes(300)) + zstd_frame(b""), 300, 2),  # a second frame
        (b"\x50\x2a\x4d\x18\x00\x00\x00\x00", 0, 2),  # a skippable frame, not a zstd frame
        (b"\x28\xb5\x2f\xfd", 0, 2),  # the magic and no frame header
        (b"", 0, 2),
    ],
)
def test_zstd_refuses_bad_frames(payload, count, alphabet):
    with pytest.raises(CorruptStream):
        CODERS["zstd"].decode(payload, count, alphabet)


def test_zstd_refuses_a_bomb_before_decompressing(monkeypatch):
    # magic; single segment, 8-byte content size 2^40; one last raw block of one byte
    bomb = b"\x28\xb5\x2f\xfd\xe0" + (2**40).to_bytes(8, "little") + b"\x09\x00\x00\x00"
    assert zstandard.frame_content_size(bomb) == 2**40

    def refuse(*args, **kwargs):
        raise AssertionError("decompressed a frame whose size did not match")

    monkeypatch.setattr(zstandard, "ZstdDecompressor", refuse)
    with pytest.raises(CorruptStream, match="declares 1099511627776 bytes"):
        CODERS["zstd"].decode(bomb, 100, 2)


@pytest.mark.parametrize(
    "payload, count, alphabet",
    [
        (b"\x80\x80\x80\x80\x10" + b"\x00" + b"\x01\x00\x00\x00", 1, 2),  # a count of 2^32
        (b"\x81\x80\x80\x80\x80\x00" + b"\x00", 1, 2),  # a six-byte varint
        (b"\x80", 1, 2),  # the table runs past the end
        (b"\x01", 1, 2),  # one count of two
        (b"\x01\x01" + b"\x01\x00\x00\x00", 1, 2),  # counts sum to 2, not 1
        (b"\x00\x00", 0, 2),  # nothing to code
        (b"\x01\x00" + b"\x00\x00\x00\x00", 1, 2),  # a code ending in a zero word
        (b"\x01\x00" + b"\x01\x00", 1, 2),  # half a word
        (b"\x01", 1, 1),  # constriction cannot model an alphabet of one
    ],
)
def test_rans_refuses_bad_tables_and_codes(payload, count, alphabet):
    with pytest.raises(CorruptStream):
        CODERS["rans"].decode(payload, count, alphabet)


@pytest.mark.parametrize(
    "payload, count, alphabet",
    [
        (b"\x00\x02\x01\x03\x02" + (1680).to_bytes(2, "little"), 8, 4),  # rank = orderings
        (b"\x00\x02\x01\x03\x02" + b"\x8b", 8, 4),  # the rank's last byte missing
        (b"\x00\x02\x01\x03\x02" + b"\x8b\x01\x00", 8, 4),  # a byte too many
        (b"\x00\x09\x00\x00", 9, 2),  # a rank where there is one ordering
        (b"\x00\x02\x02", 5, 2),  # counts sum to 4, not 5
        (b"\x00" + b"\x00" * 4097, 0, 4097),  # alphabet over 4096
        (b"\x00\x00", 0, 2),  # nothing to code
        (b"\x00\x00\x81\x20", 4097, 2),  # over 4096 symbols
    ],
)
def test_enumerative_refuses_bad_ranks(payload, count, alphabet):
    with pytest.raises(CorruptStream):
        CODERS["enumerative"].decode(payload, count, alphabet)


@pytest.mark.parametrize(
    "change",
    [
        {"coder": "huffman"},
        {"coder": ["rans"]},
        {"count": None},
        {"count": True},
        {"count": 3.0},
        {"length": -1},
        {"alphabet": 0},
        {"alphabet": 4097},
    ],
)
def test_decode_stream_refuses_bad_descriptions(change):
    description = {"coder": "rans", "count": 3, "alphabet": 2, "length": 6, **change}
    with pytest.raises(InvalidHeader):
        decode_stream(description, b"\x02\x01\x99\x00\x00\x00")


@pytest.mark.parametrize("coder", ["bitpack", "zstd"])
def test_decode_stream_refuses_alphabets_over_four_bytes(coder):
    with pytest.raises(InvalidHeader):
        decode_stream({"coder": coder, "count": 0, "alphabet": 2**32 + 1, "length": 0}, b"")


def test_decode_stream_refuses_a_wrong_length():
    description, payload = encode_stream(HOSTILE, 5)
    with pytest.raises(CorruptStream):
        decode_stream({**description, "length": len(payload) + 1}, payload)


@pytest.mark.parametrize(
    "symbols, alphabet",
    [([0, 5], 5), ([-1], 5), ([[0]], 5), ([0.0], 5), ([0], 0), ([0], 2**32 + 1)],
)
def test_encode_stream_refuses_symbols_outside_the_alphabet(symbols, alphabet):
    with pytest.raises(ValueError):
        encode_stream(np.array(symbols), alphabet)
