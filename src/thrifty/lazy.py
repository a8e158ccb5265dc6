"""Names a package exports but imports on first use (PEP 562), so that importing the package
stays fast: the measuring code behind them pulls in numpy, scikit-learn or PyTorch, which a
light command (``thrifty report``, a prediction worker) never needs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: each of ``names`` (name -> the module that
    defines it) imported when first asked for, then kept on the package."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(names[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
