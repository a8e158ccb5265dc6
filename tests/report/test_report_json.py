"""report.json: the record written and read back, docs/REPORT.md true to what is written, and
the versions: 2 and 1 load (a version 1 file renders the very page thrifty wrote beside it), 0
and any newer one are refused in one line that names the version."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import thrifty as th
from thrifty.errors import DataError
from thrifty.report.folder import report_page
from thrifty.report.html import render
from thrifty.report.record import VERSION, Report

pytestmark = pytest.mark.timeout(180)
DOC = Path(__file__).parents[2] / "docs" / "REPORT.md"
V1 = Path(__file__).parent / "data" / "report-v1.json"  # thrifty at 3f1a2b1 wrote it, and
V1_PAGE = V1.with_suffix(".html")  # this page beside it: a short search on digits


@pytest.fixture(scope="module")
def report(digits) -> Report:
    """A report as thrifty makes one now: the candidates of a real search (the version 1
    file's, read) and what a model described now is about."""
    from thrifty.measure import Workload, load_pricing
    from thrifty.optimize.result import describe_run

    model = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    about = describe_run(model, digits, load_pricing(), Workload(), 60.0, 12.5)
    why = {"channels:0.5": "channels pruning needs Linear or Conv layers"}
    return replace(Report.from_json(json.loads(V1.read_text())), about=about, not_applicable=why)


def written(report: Report) -> dict:
    return json.loads(json.dumps(report.to_json()))


def test_what_is_written_reads_back_as_the_same_report_and_page(report):
    document = written(report)
    assert document["version"] == VERSION == 2
    again = Report.from_json(document)
    assert again.to_json() == document
    assert render(again) == render(report)


def test_every_key_written_is_documented_and_every_key_documented_is_written(report):
    kinds = documented(DOC.read_text())
    seen: set[str] = set()
    check(written(report), "report", kinds, seen)
    assert seen == set(kinds), f"documented, never written: {set(kinds) - seen}"


def documented(text: str) -> dict[str, dict[str, str]]:
    """docs/REPORT.md's tables: kind of object (a heading such as ### `candidate`) -> key ->
    its type cell."""
    kinds: dict[str, dict[str, str]] = {}
    kind = None
    for line in text.splitlines():
        if heading := re.fullmatch(r"### `(\w+)`", line):
            kind = kinds.setdefault(heading[1], {})
        elif kind is not None and (row := re.match(r"\| `(\w+)` \| ([^|]*) \|", line)):
            kind[row[1]] = row[2]
    return kinds


def check(value: dict, kind: str, kinds: dict[str, dict[str, str]], seen: set[str]) -> None:
    """``value``'s keys are the documented ones of ``kind``, and so on down every object whose
    type names a kind; ``seen`` collects the kinds met."""
    seen.add(kind)
    documented = kinds[kind]
    assert set(value) == set(documented), f"{kind}: written {sorted(value)}"
    for key, type_ in documented.items():
        inner = [name for name in re.findall(r"`(\w+)`", type_) if name in kinds]
        if inner:
            items = value[key] if type_.startswith("list") else [value[key]]
            for item in items:
                check(item, inner[0], kinds, seen)


def test_a_version_1_file_renders_the_page_thrifty_wrote_beside_it(tmp_path):
    page = tmp_path / "page.html"
    done = thrifty_report(V1, page)
    assert done.returncode == 0, done.stderr
    assert page.read_bytes() == V1_PAGE.read_bytes()
    old = Report.from_json(json.loads(V1.read_text()))
    assert old.baseline in old.within  # version 1 did not say so: it always is


def test_a_version_0_file_is_refused_in_one_line(tmp_path):
    """A report.json as thrifty wrote it before ``about``: no version, and no way to tell how
    each candidate runs."""
    old = {
        "objective": "money", "max_drop": 0.5,
        "baseline": _version_0_candidate("", 0.896, 0.0040),
        "best": _version_0_candidate("prune:0.9", 0.893, 0.0020),
        "candidates": [{**_version_0_candidate("prune:0.9", 0.893, 0.0020),
                        "drop_validation": 0.3, "drop_test": 0.3, "pareto": True}],
    }  # fmt: skip
    (tmp_path / "old.json").write_text(json.dumps(old))
    done = thrifty_report(tmp_path / "old.json", tmp_path / "old.html")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "old.json: report.json version 0" in done.stderr
    assert "this thrifty reads versions 2 and 1" in done.stderr
    assert not (tmp_path / "old.html").exists()


def _version_0_candidate(recipe: str, quality: float, money: float) -> dict:
    bill = {"compute_usd": money, "storage_usd": 0.0, "bandwidth_usd": 0.0, "total_usd": money}
    return {"trial": {"recipe": recipe, "epochs": 2}, "validation": quality, "test": quality,
            "metric": "accuracy", "bytes": 20_000, "usd_per_million": money,
            "usd_per_month": money, "latency_ms": 0.02, "bill": bill}  # fmt: skip


def test_a_newer_version_is_refused(report, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({**written(report), "version": 3}))
    with pytest.raises(DataError, match="report.json: report.json version 3; .* upgrade thrifty"):
        report_page(path)


def thrifty_report(document: Path, page: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "thrifty.cli", "report", str(document), "-o", str(page)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)
