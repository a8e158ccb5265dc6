"""The folder ``thrifty optimize -o OUT`` writes, and its report.json read back.

``OUT/model.thrifty`` is the chosen candidate as packed, ``OUT/model.onnx`` the same model
unpacked, ``OUT/report.json`` the report (docs/REPORT.md) and ``OUT/report.html`` its page, which
``thrifty report OUT/report.json`` renders again byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from thrifty.atomic import write_atomic
from thrifty.errors import DataError
from thrifty.report.html import render
from thrifty.report.record import Report


def write_report(folder: Path, report: Report) -> None:
    """``model.thrifty``, ``model.onnx``, ``report.json`` and ``report.html`` in ``folder``."""
    from thrifty.pack import unpack  # numpy: not for thrifty report

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report.best.path, folder / "model.thrifty")
    unpack(folder / "model.thrifty").save(folder / "model.onnx")
    document = json.dumps(report.to_json(), indent=1, default=str) + "\n"
    write_atomic(folder / "report.json", document.encode())
    write_atomic(folder / "report.html", render(report).encode())


def report_page(path: Path) -> str:
    """The HTML page of the report.json at ``path``; a DataError, naming the file, if it is not
    one that this thrifty reads."""
    try:
        return render(Report.from_json(json.loads(path.read_text())))
    except DataError as error:  # a version it does not read
        raise DataError(f"{path}: {error}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DataError(
            f"{path} is not a report.json from thrifty optimize ({type(error).__name__})"
        ) from None
