"""A search small enough for a test: two quick techniques, two rungs, one pruning strength."""

import pytest

import thrifty.optimize.search as search
import thrifty.optimize.sensitivity as sensitivity


@pytest.fixture
def small_search(monkeypatch, tmp_path):
    monkeypatch.setattr(search, "SINGLES", ("quantize:int8-dynamic", "channels:0.5"))
    monkeypatch.setattr(search, "GENTLER", ())
    monkeypatch.setattr(search, "RUNGS", (1, 2))
    monkeypatch.setattr(sensitivity, "TOLERANCES", (4,))  # one pruning strength
    monkeypatch.setenv("THRIFTY_CACHE", str(tmp_path / "cache"))
