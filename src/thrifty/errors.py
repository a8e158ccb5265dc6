"""Every error thrifty raises on purpose, in one tree.

::

    ThriftyError
    ├── ModelError (ValueError)           a model file or module that cannot be used
    │   ├── UnknownModelFormat            the file's suffix or content is not one we read
    │   ├── UnknownModel                  a name that is not in the reference zoo
    │   ├── PickleRefused                 .pt/.pth/.pkl: opening a pickle can run code
    │   ├── CorruptModel                  the ONNX checker or the parser refused it
    │   └── UnsafeModel                   external data outside the folder, unsafe Keras config
    ├── DataError (ValueError)            data that cannot be used
    │   ├── DatasetNotInstalled           a named data set whose files are not on this machine
    │   ├── UnknownDataset                a name that is neither a bundled set nor a file
    │   └── DataMismatch                  data whose shape does not fit the model's input
    ├── PricingError (ValueError)         a pricing profile or workload that does not parse
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


class RuntimeUnavailable(ThriftyError, RuntimeError):
    """A runtime or device that is not available on this machine."""
