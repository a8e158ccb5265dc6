"""Reports: renderers over plain dataclasses (terminal tables, JSON, the HTML page).

The names load on first use (PEP 562), so that ``thrifty report`` imports the page's module
alone, not the measuring code that profiles need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from thrifty.lazy import lazy

if TYPE_CHECKING:
    from thrifty.report.json import profile_document
    from thrifty.report.text import print_profile, profile_view

__all__ = ["print_profile", "profile_document", "profile_view"]
_LAZY = {"print_profile": "thrifty.report.text", "profile_document": "thrifty.report.json",
         "profile_view": "thrifty.report.text"}  # fmt: skip
__getattr__ = lazy(__name__, _LAZY)
