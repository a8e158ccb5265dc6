"""Profiles as JSON: every number, for machines."""

from __future__ import annotations

from typing import Any

from thrifty.measure.bill import Bill
from thrifty.measure.cost import Cost


def profile_document(cost: Cost, bill: Bill) -> dict[str, Any]:
    """One object: ``compute``, ``storage``, ``bandwidth``, ``quality``, ``bill``, ``layers``."""
    return {**cost.to_dict(), "bill": bill.to_dict()}
