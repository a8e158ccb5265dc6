"""Every command that writes checks where it writes before any work: a folder where a file goes,
a file where a folder goes or above the output, or a folder it may not write in is one line on
stderr and status 1, and nothing is written or started (thrifty/paths.py)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import thrifty as th
from thrifty.cli import app
from thrifty.errors import OutputError
from thrifty.paths import writable_file, writable_folder

# command: (its arguments, OUT where the output goes; what must not run before the check)
FILE_COMMANDS = {
    "train": (
        ["train", "lenet-300-100", "-d", "digits", "-o", "OUT.onnx"],
        ["thrifty.baseline.load_data", "thrifty.baseline.train"],
    ),
    "compress": (
        ["compress", "m.onnx", "-d", "digits", "--recipe", "prune:0.5", "-o", "OUT.thrifty"],
        ["thrifty.datasets.load", "thrifty.loading.load"],
    ),
    "pack": (["pack", "m.onnx", "-o", "OUT.thrifty"], ["thrifty.loading.load"]),
    "unpack": (["unpack", "m.thrifty", "-o", "OUT.onnx"], ["thrifty.pack.reader.read_pack"]),
    "report": (["report", "report.json", "-o", "OUT.html"], ["thrifty.report.html.render"]),
    "predict": (
        ["predict", "m.onnx", "rows.npy", "-o", "OUT.parquet"],
        ["thrifty.predict.job.open_input"],
    ),
    "pull": (["pull", "store", "m@1", "-o", "OUT.thrifty"], ["thrifty.ship.pull.open_store"]),
}
FOLDER_COMMANDS = {
    "optimize": (["optimize", "m.onnx", "-d", "digits", "-o", "OUT"], ["thrifty.datasets.load"]),
    "demo": (["demo", "--out", "OUT"], ["thrifty.datasets.load"]),
    "predict": (["predict", "m.onnx", "rows.npy", "-o", "OUT"], ["thrifty.predict.job.open_input"]),
}
# case: (what OUT becomes, given the folder "afolder" and the file "afile"; what the error says)
FILE_CASES = {
    "a-folder": ("afolder/OUT", "afolder/OUT{suffix} is a folder; give the path of a file"),
    "under-a-file": ("afile/OUT", "afile/OUT{suffix} cannot be written: afile is a file"),
    "not-writable": ("/proc/self/OUT", "/proc/self is not writable"),
}
FOLDER_CASES = {
    "a-file": ("afile", "afile is a file; give a folder to write into"),
    "under-a-file": ("afile/OUT", "afile/OUT cannot be written: afile is a file"),
    "not-writable": ("/proc/self/OUT", "/proc/self is not writable"),
}
PROC_WRITABLE = not os.path.isdir("/proc/self") or os.access("/proc/self", os.W_OK)


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A folder with every input the commands name (never read: no command gets that far)."""
    monkeypatch.chdir(tmp_path)
    for name in ("m.onnx", "m.thrifty", "report.json", "rows.npy", "afile"):
        Path(name).write_bytes(b"never read")
    Path("afolder").mkdir()
    return tmp_path


def forbid(monkeypatch, targets: list[str]) -> None:
    """The functions named in ``targets`` fail the test if called."""

    def started(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    for target in targets:
        module, name = target.rsplit(".", 1)
        monkeypatch.setattr(importlib.import_module(module), name, started)


def files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def refused(args: list[str], message: str, inputs: Path) -> None:
    before = files(inputs)
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, OutputError), result.output
    assert message in str(result.exception) and "\n" not in str(result.exception)
    assert result.exit_code == 1
    assert files(inputs) == before


def cases(commands: dict, kinds: dict):
    for command, (args, targets) in commands.items():
        for case, (out, message) in kinds.items():
            marks = [pytest.mark.skipif(PROC_WRITABLE, reason="no unwritable /proc/self here")]
            yield pytest.param(
                args, targets, out, message, id=f"{command}-{case}",
                marks=marks if case == "not-writable" else [],
            )  # fmt: skip


@pytest.mark.parametrize(("args", "targets", "out", "message"), cases(FILE_COMMANDS, FILE_CASES))
def test_a_file_output_is_checked_first(inputs, monkeypatch, args, targets, out, message):
    forbid(monkeypatch, targets)
    suffix = Path(args[-1]).suffix
    if out.startswith("afolder/"):
        (inputs / f"{out}{suffix}").mkdir()
    args = [*args[:-1], f"{out}{suffix}"]
    refused(args, message.format(suffix=suffix), inputs)


@pytest.mark.parametrize(
    ("args", "targets", "out", "message"), cases(FOLDER_COMMANDS, FOLDER_CASES)
)
def test_a_folder_output_is_checked_first(inputs, monkeypatch, args, targets, out, message):
    forbid(monkeypatch, targets)
    refused([*args[:-1], out], message, inputs)


def test_compress_needs_a_suffix_it_writes(inputs, monkeypatch):
    forbid(monkeypatch, FILE_COMMANDS["compress"][1])
    args = ["compress", "m.onnx", "-d", "digits", "--recipe", "prune:0.5", "-o", "out.zip"]
    refused(args, "out.zip: the output must end in .thrifty or .onnx", inputs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "lenet-300-100", "-d", "fashion-mnist", "-o", "afolder"], "afolder is a folder"),
        (["optimize", "m.onnx", "-d", "fashion-mnist", "-o", "afile"], "afile is a file"),
    ],
    ids=["train", "optimize"],
)
def test_the_command_prints_one_line_and_exits_1(inputs, args, message):
    """As a user runs it; on Fashion-MNIST, any work would take minutes or fail otherwise."""
    before = files(inputs)
    result = subprocess.run(
        [sys.executable, "-m", "thrifty.cli", *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1
    assert result.stdout == "" and files(inputs) == before


def test_missing_folders_above_an_output_are_made_when_written(tmp_path):
    file, folder = tmp_path / "new" / "sub" / "m.thrifty", tmp_path / "new" / "out"
    assert writable_file(file) == file and writable_folder(folder) == folder
    assert not (tmp_path / "new").exists()  # the checks write nothing
    from torch import nn

    th.pack(th.load(nn.Sequential(nn.Linear(4, 2)), input_shape=(4,)), file)
    assert th.unpack(file).input_shape == (4,)


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    """Root may write anywhere, so the permission is what os.access says."""
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    message = f"cannot be written: {tmp_path} is not writable; choose a folder you can write in"
    for check, path in [
        (writable_file, tmp_path / "m.onnx"),
        (writable_file, tmp_path / "new" / "m.onnx"),
        (writable_folder, tmp_path),
        (writable_folder, tmp_path / "new"),
    ]:
        with pytest.raises(OutputError, match=message):
            check(path)
