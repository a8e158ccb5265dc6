"""The command as a user meets it: real processes, exit codes, one-line errors, JSON."""

import json
import pickle
import subprocess
import sys

import pytest

import thrifty as th


def thrifty(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "thrifty.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "digits.onnx"
    th.load(th.models.build("lenet-300-100", (64,), 10), input_shape=(64,)).save(path)
    return path


def test_version_and_help():
    assert thrifty("--version").stdout.strip() == f"thrifty {th.__version__}"
    for command in ("profile", "train", "demo", "compress", "pack", "unpack", "inspect"):
        result = thrifty(command, "--help")
        assert result.returncode == 0 and "Example: thrifty" in result.stdout


def test_profile_json(digits_model):
    result = thrifty("profile", str(digits_model), "--data", "digits", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"compute", "storage", "bandwidth", "quality", "bill", "layers"} <= set(document)
    assert document["storage"]["params"] == 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10


def test_profile_table_and_workload(digits_model):
    result = thrifty(
        "profile",
        str(digits_model),
        "--data",
        "digits",
        "--inferences-per-month",
        "1e9",
        "--replicas",
        "5",
    )
    assert result.returncode == 0, result.stderr
    assert "per million inferences" in result.stdout and "1,000,000,000 inferences" in result.stdout


def _pickle(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "missing.onnx", "--data", "digits"], "does not exist"),
        (["profile", "{pickle}", "--data", "digits"], "export it to ONNX"),
        (["profile", "{model}", "--data", "imagenet"], "unknown data 'imagenet'"),
        (["profile", "{model}", "--data", "breast-cancer"], "shape (30,) but model"),
        (["profile", "{model}", "--data", "digits", "--pricing", "none.toml"], "does not exist"),
        (["profile", "{model}", "--data", "digits", "--device", "tpu"], "unknown device"),
        (["train", "resnet", "--data", "digits", "-o", "x.onnx"], "unknown model 'resnet'"),
    ],
)
def test_user_errors_are_one_line_with_status_1(tmp_path, digits_model, args, message):
    args = [a.format(pickle=_pickle(tmp_path), model=digits_model) for a in args]
    result = thrifty(*args, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_corrupt_onnx_is_a_user_error(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07not a model at all")
    result = thrifty("profile", "bad.onnx", "--data", "digits", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_usage_errors_have_status_2():
    assert thrifty("profile").returncode == 2
    assert thrifty("profile", "m.onnx", "--data", "digits", "--bogus").returncode == 2
    assert thrifty("frobnicate").returncode == 2


def test_train_writes_a_working_onnx(tmp_path):
    result = thrifty(
        "train",
        "tabular-mlp",
        "--data",
        "breast-cancer",
        "-o",
        "bc.onnx",
        "--epochs",
        "20",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["test"] > 0.9 and (tmp_path / "bc.onnx").is_file()
    assert th.profile(tmp_path / "bc.onnx", "breast-cancer").quality.value == report["test"]


def test_compress_writes_a_packed_model_and_compares(tmp_path, digits_model):
    result = thrifty(
        "compress",
        str(digits_model),
        "--data",
        "digits",
        "--recipe",
        "prune:0.8,share:4",
        "-o",
        "small.thrifty",
        "--epochs",
        "2",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["after"]["storage"]["format"] == "thrifty"
    assert document["after"]["storage"]["bytes"] < document["before"]["storage"]["bytes"] / 5
    assert (tmp_path / "small.thrifty").is_file()


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ("crop:0.5", "recipe item 'crop:0.5'"),
        ("quantize:int8-static,prune:0.5", "prune cannot follow quantize"),
    ],
)
def test_compress_refuses_bad_recipes(tmp_path, digits_model, recipe, message):
    result = thrifty(
        "compress",
        str(digits_model),
        "--data",
        "digits",
        "--recipe",
        recipe,
        "-o",
        "x.thrifty",
        cwd=tmp_path,
    )
    assert result.returncode == 1 and message in result.stderr
    assert not (tmp_path / "x.thrifty").exists()


WORKLOAD_OPTIONS = ("pricing", "inferences_per_month", "replicas", "deploys_per_month",
                    "versions_kept")  # fmt: skip


def test_optimize_takes_the_workload_options_as_profile_does():
    """Declared once (thrifty/cli/options.py), with Workload()'s defaults: --help shows them."""
    from typer.main import get_command

    from thrifty.cli import app
    from thrifty.cli.options import workload
    from thrifty.measure import Workload

    commands = get_command(app).commands

    def options(command: str) -> dict:
        """Each workload option's line in ``thrifty COMMAND --help``, and its default."""
        context = commands[command].make_context(command, [], resilient_parsing=True)
        params = {p.name: p for p in commands[command].params}
        return {n: (params[n].get_help_record(context), params[n].default)
                for n in WORKLOAD_OPTIONS}  # fmt: skip

    assert options("optimize") == options("profile")
    defaults = {name: default for name, (_, default) in options("profile").items()}
    assert workload(**{n: defaults[n] for n in WORKLOAD_OPTIONS[1:]}) == Workload()
    assert workload(1e9, 5, 1, 3) == Workload(1e9, 5, 1, 3)


def test_optimize_searches_for_the_workload_given(tmp_path, digits_model, monkeypatch):
    """--objective money prices a month of the workload given: the report says which. A budget
    of one second measures the model as it is and stops (seconds, not minutes)."""
    from typer.testing import CliRunner

    from thrifty.cli import app

    monkeypatch.setenv("THRIFTY_CACHE", str(tmp_path / "cache"))
    args = ["optimize", str(digits_model), "-d", "digits", "-o", str(tmp_path / "o"),
            "--time-budget", "1s", "--inferences-per-month", "1e9", "--replicas", "5",
            "--deploys-per-month", "1", "--versions-kept", "3"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["about"]["workload"] == {
        "inferences_per_month": 1e9, "replicas": 5, "deploys_per_month": 1, "versions_kept": 3,
    }  # fmt: skip


def test_a_workload_below_zero_is_a_user_error(tmp_path, digits_model):
    result = thrifty("optimize", str(digits_model), "-d", "digits", "-o", "o", "--replicas", "-1",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1 and "workload replicas must be a number >= 0" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
