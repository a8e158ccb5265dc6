"""Every error thrifty raises on purpose, in one tree.

::

    ThriftyError
    ├── ModelError (ValueError)           a model file or module that cannot be used
    │   ├── UnknownModelFormat            the file's suffix or content is not one we read
    │   ├── UnknownModel                  a name that is not in the reference zoo
    │   ├── PickleRefused                 .pt/.pth/.pkl: opening a pickle can run code
    │   ├── CorruptModel                  the ONNX checker or the parser refused it
    │   ├── UnsafeModel                   external data outside the folder, unsafe Keras config
    │   └── NotApplicable                 a technique with nothing to act on in this model
    ├── DataError (ValueError)            data that cannot be used
    │   ├── DatasetNotInstalled           a named data set whose files are not on this machine
    │   ├── UnknownDataset                a name that is neither a bundled set nor a file
    │   └── DataMismatch                  data whose shape does not fit the model's input
    ├── PricingError (ValueError)         a pricing profile or workload that does not parse
    ├── OutputError (OSError)             an output path that cannot be written as asked
    ├── PackFormatError (ValueError)      a .thrifty file that breaks a rule of docs/FORMAT.md
    │   ├── TruncatedFile                 shorter than its preamble, header or records say
    │   ├── NotAThriftyFile               wrong magic bytes
    │   ├── UnsupportedVersion            a version or flag this reader does not know
    │   ├── HeaderTooLarge                header length under 2 bytes or over the cap
    │   ├── HeaderChecksumMismatch        header bytes that do not match their SHA-256
    │   ├── HeaderNotUtf8                 header bytes that are not UTF-8
    │   ├── HeaderNotJson                 header text that is not one JSON object
    │   ├── DuplicateKey                  a key twice in one JSON object
    │   ├── InvalidHeader                 a field missing, mistyped, out of range or unknown
    │   ├── ShapeOverflow                 a shape whose size overflows 2^63
    │   ├── DecodedSizeTooLarge           a declared decoded size over the cap (a bomb)
    │   ├── RecordGap                     a hole between records
    │   ├── RecordOverlap                 records that overlap
    │   ├── TrailingBytes                 bytes after the last record
    │   ├── RecordChecksumMismatch        record or body bytes that do not match their SHA-256
    │   └── CorruptStream                 a stream that does not decode as declared
    ├── StoreError (OSError)              a model store that cannot be used as asked
    │   ├── NotInStore                    a name, version, tag or chunk the store lacks
    │   ├── ManifestError                 a manifest that breaks a rule of docs/STORE.md
    │   ├── ChunkMismatch                 bytes that kept failing their hash check
    │   ├── TransferInterrupted           a connection that dropped mid-chunk (pull resumes)
    │   ├── BadDelta                      a delta object that does not rebuild its record
    │   └── VersionExists                 other bytes already pushed as that name@version
    └── RuntimeUnavailable (RuntimeError) a device or runtime that is not on this machine

Each message says what was wrong, what was given, and what to do. The CLI prints it as one line
and exits with status 1; nothing else needs to catch these separately.
"""

from __future__ import annotations


class ThriftyError(Exception):
    """The root of every error thrifty raises on purpose."""


class ModelError(ThriftyError, ValueError):
    """A model file or module that thrifty cannot use."""


class UnknownModelFormat(ModelError):
    """The file is not ONNX, Keras, or a torch module."""


class UnknownModel(ModelError):
    """A model name that is not in the reference zoo."""


class PickleRefused(ModelError):
    """A pickled file: opening it could run arbitrary code, so thrifty never does."""


class CorruptModel(ModelError):
    """The ONNX checker or parser refused the file."""


class UnsafeModel(ModelError):
    """The file points outside its folder or asks to run code."""


class NotApplicable(ModelError):
    """A technique this model gives nothing to act on (structured pruning without Linear or Conv
    layers, fine-tuning a graph PyTorch cannot run): the optimizer skips it and says why."""


class DataError(ThriftyError, ValueError):
    """Data that thrifty cannot use."""


class DatasetNotInstalled(DataError):
    """A named data set whose files are not installed on this machine."""


class UnknownDataset(DataError):
    """A data set name that is neither bundled nor an existing file."""


class DataMismatch(DataError):
    """Data whose shape or labels do not fit the model."""


class PricingError(ThriftyError, ValueError):
    """A pricing profile or workload that does not parse or is incomplete."""


class OutputError(ThriftyError, OSError):
    """An output path that cannot be written: a folder where a file goes, a file where a folder
    goes or above the path, a folder this process may not write in, or a wrong suffix."""


class RuntimeUnavailable(ThriftyError, RuntimeError):
    """A runtime or device that is not available on this machine."""


class PackFormatError(ThriftyError, ValueError):
    """A .thrifty file that breaks a rule of docs/FORMAT.md."""


class TruncatedFile(PackFormatError):
    """The file ends before its preamble, header or records do."""


class NotAThriftyFile(PackFormatError):
    """The file does not start with the magic bytes THRIFTY\\0."""


class UnsupportedVersion(PackFormatError):
    """A format version or flag this reader does not know."""


class HeaderTooLarge(PackFormatError):
    """A declared header length under 2 bytes or over the cap."""


class HeaderChecksumMismatch(PackFormatError):
    """Header bytes that do not match the SHA-256 in the preamble."""


class HeaderNotUtf8(PackFormatError):
    """Header bytes that are not valid UTF-8."""


class HeaderNotJson(PackFormatError):
    """Header text that is not one JSON object."""


class DuplicateKey(PackFormatError):
    """A key that appears twice in one JSON object of the header."""


class InvalidHeader(PackFormatError):
    """A header field that is missing, mistyped, out of range or unknown."""


class ShapeOverflow(PackFormatError):
    """A shape whose element count or byte size overflows 2^63."""


class DecodedSizeTooLarge(PackFormatError):
    """A declared decoded size over the reader's cap: a decompression bomb."""


class RecordGap(PackFormatError):
    """A hole between two records."""


class RecordOverlap(PackFormatError):
    """Two records that share bytes."""


class TrailingBytes(PackFormatError):
    """Bytes after the end of the last record."""


class RecordChecksumMismatch(PackFormatError):
    """Record or body bytes that do not match their SHA-256."""


class CorruptStream(PackFormatError):
    """A stream that does not decode to what its header declares."""


class StoreError(ThriftyError, OSError):
    """A model store that cannot be used as asked: unreachable, refusing, or a bad name."""


class NotInStore(StoreError):
    """A name, version, tag or chunk that the store does not hold."""


class ManifestError(StoreError):
    """A manifest that breaks a rule of docs/STORE.md (fields, limits, sizes)."""


class ChunkMismatch(StoreError):
    """Bytes that kept failing their hash check after every retry."""


class TransferInterrupted(StoreError):
    """A connection that dropped while a chunk was moving; pulling again resumes the chunk."""


class BadDelta(StoreError):
    """A delta object that does not decode, or does not rebuild its record byte for byte; a
    pull then fetches the record's chunks instead."""


class VersionExists(StoreError):
    """Other bytes were already pushed as this name@version; versions are immutable."""
