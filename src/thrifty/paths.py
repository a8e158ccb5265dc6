"""The paths a user gives, checked before any work: a file to read must be one, and a file or
folder to write must be writable, so a mistake costs a second, not a finished run.

Folders missing above an output are fine: every writer makes them (``thrifty.atomic``), so an
output is writable when the nearest folder that exists above it is one this process may write
in. The checks write nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from thrifty.errors import ModelError, OutputError, ThriftyError

MODEL_FILE = "a model file (.onnx, .keras, .thrifty)"


def existing_file(
    path: str | Path, give: str = MODEL_FILE, error: type[ThriftyError] = ModelError
) -> Path:
    """``path``, if it is a file; otherwise ``error`` saying what it is, and to give ``give``."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path} is a folder; give {give}")
    if not path.is_file():
        raise error(f"{path} does not exist; check the path")
    return path


def existing_model(path: str | Path) -> Path:
    """``path``, if it is a model file or a folder (a Hugging Face model's: ``thrifty.load``
    checks what the folder holds)."""
    path = Path(path)
    return path if path.is_dir() else existing_file(path)


def writable_file(path: str | Path, suffixes: tuple[str, ...] = ()) -> Path:
    """``path``, if a file can be written there (ending in one of ``suffixes``, if given)."""
    path = Path(path)
    if suffixes and path.suffix not in suffixes:
        raise OutputError(f"{path}: the output must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give the path of a file to write")
    _can_make(path)
    return path


def writable_folder(path: str | Path) -> Path:
    """``path``, if it is a folder this process may write in, or one it can make."""
    path = Path(path)
    if path.is_dir():
        _may_write_in(path, path)
    elif path.exists():
        raise OutputError(f"{path} is a file; give a folder to write into (made if missing)")
    else:
        _can_make(path)
    return path


def _can_make(path: Path) -> None:
    """Whether ``path`` can be created, with any folders missing above it."""
    above = next(folder for folder in path.parents if folder.exists())
    if not above.is_dir():
        raise OutputError(f"{path} cannot be written: {above} is a file, not a folder")
    _may_write_in(above, path)


def _may_write_in(folder: Path, path: Path) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{path} cannot be written: {folder} is not writable; choose a folder you can write in"
        )
