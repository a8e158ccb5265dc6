"""Pricing profiles (TOML): every price with its unit, source and date."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from thrifty.errors import PricingError

DEFAULT = Path(__file__).with_name("default_pricing.toml")
BUNDLED = {  # profiles that ship with thrifty, by short name
    "internet": DEFAULT,  # callers and replicas on the internet: transfer out is paid
    "same-zone": Path(__file__).with_name("same_zone_pricing.toml"),  # the network is free
}
NEEDED = ("cpu_core_hour", "gpu_hour", "storage_gb_month", "deploy_gb", "egress_gb", "ingress_gb")


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    date: str


@dataclass(frozen=True)
class Pricing:
    name: str  # as the user gave it: internet, same-zone, or the TOML file's path
    prices: dict[str, Price]
    path: str

    def __getitem__(self, key: str) -> float:
        return self.prices[key].usd


def load_pricing(path: str | Path | None = None) -> Pricing:
    """Read a pricing profile: a TOML file, or a bundled profile by name (``internet``, the
    default, or ``same-zone``)."""
    name = str(path) if path else "internet"
    path = BUNDLED[name] if name in BUNDLED and not Path(name).exists() else Path(name)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise PricingError(f"pricing file {path} does not exist; check the path") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PricingError(f"pricing file {path} is not valid TOML: {error}") from error
    table = document.get("prices", {})
    missing = [key for key in NEEDED if key not in table]
    if missing:
        raise PricingError(
            f"pricing file {path} lacks [prices.{missing[0]}]; copy {DEFAULT} and edit it"
        )
    return Pricing(name, {key: _price(key, table[key], path) for key in NEEDED}, str(path))


def _price(key: str, entry: object, path: Path) -> Price:
    if not isinstance(entry, dict):
        raise PricingError(f"{path}: [prices.{key}] must be a table with usd, unit, source, date")
    usd = entry.get("usd")
    if not isinstance(usd, int | float) or isinstance(usd, bool) or usd < 0:
        raise PricingError(f"{path}: prices.{key}.usd must be a number >= 0, got {usd!r}")
    for field in ("unit", "source", "date"):
        if not isinstance(entry.get(field), str) or not entry[field]:
            raise PricingError(
                f"{path}: prices.{key}.{field} is missing; every price must name its {field}"
            )
    return Price(float(usd), entry["unit"], entry["source"], entry["date"])
