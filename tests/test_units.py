"""Amounts as every command shows them."""

import pytest

from thrifty.units import human_bytes, money, rate


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.125, "0.125"), (2 / 16, "0.125"), (57.34, "57.3"), (100, "100"), (12345.6, "12,346")],
)
def test_a_rate_keeps_its_digits_below_100(value, shown):
    assert rate(value) == shown  # a tiny job's rate is not "0 rows/s"


def test_money_and_bytes():
    assert money(0.000447) == "$0.000447" and money(1234.5) == "$1,234.50"
    assert human_bytes(512) == "512 B" and human_bytes(57_929) == "56.6 KiB"
