"""Reports: renderers over plain dataclasses (terminal tables, JSON)."""

from thrifty.report.json import profile_document
from thrifty.report.text import print_profile, profile_view

__all__ = ["print_profile", "profile_document", "profile_view"]
