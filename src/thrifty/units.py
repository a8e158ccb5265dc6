"""Amounts as a person reads them: dollars and bytes, for the report and for progress lines
alike (so that showing a transfer's progress needs nothing of the report)."""

from __future__ import annotations

import math


def money(usd: float) -> str:
    """Dollars; amounts under $1 keep three significant digits so small bills still compare."""
    if usd == 0 or usd >= 1:
        return f"${usd:,.2f}"
    return f"${usd:.{max(2, 2 - math.floor(math.log10(usd)))}f}"


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} GiB"


def rate(per_second: float) -> str:
    """A rate: whole numbers from 100 up, three significant digits below (0.125, not 0)."""
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.3g}"
