"""The simulator's parameters, read from ``experiments/world.toml`` and checked against the
contracts (every industry present, categories known)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from features.contracts import INDUSTRIES, VIOLATION_CATEGORIES

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "world.toml"

_INDUSTRY_NUMBERS = (
    "share",
    "employees_median",
    "employees_sd",
    "accident_rate",
    "fatal_share",
    "big_share",
    "loss_scale",
    "inspections",
    "hazards",
    "major_hazards",
    "violations",
)


@dataclass(frozen=True)
class Params:
    """Sections of the parameter file, plus per-industry arrays indexed like :attr:`industries`."""

    raw: dict[str, Any]
    industries: tuple[str, ...]  # the contract's industry keys, in contract order
    by_industry: dict[str, np.ndarray]  # numeric field → array over industries
    permit: np.ndarray  # bool over industries
    standardization: np.ndarray  # bool over industries
    departments: tuple[str, ...]  # sector regulator name template per industry
    words: tuple[tuple[str, ...], ...]  # name words per industry

    def __getitem__(self, section: str) -> Any:
        return self.raw[section]

    def industry(self, key: str) -> int:
        return self.industries.index(key)


def load(path: Path = DEFAULT_PATH) -> Params:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    given = raw.get("industries", {})
    missing, unknown = set(INDUSTRIES) - set(given), set(given) - set(INDUSTRIES)
    if missing or unknown:
        raise ValueError(
            f"{path}: industries must be exactly the contract's; missing {sorted(missing)}, "
            f"unknown {sorted(unknown)}"
        )
    bad = set(raw["violations"]["categories"]) - set(VIOLATION_CATEGORIES)
    if bad:
        raise ValueError(f"{path}: unknown violation categories {sorted(bad)}")
    for category, allowed in raw["violations"]["special"].get("industries", {}).items():
        if category not in VIOLATION_CATEGORIES or set(allowed) - set(INDUSTRIES):
            raise ValueError(f"{path}: special category {category!r} or its industries unknown")
    for region in raw["regions"]:
        boost = set(region.get("boost", {})) - set(INDUSTRIES)
        if boost:
            raise ValueError(f"{path}: region {region['code']} boosts unknown {sorted(boost)}")
    keys = tuple(INDUSTRIES)
    rows = [given[k] for k in keys]
    return Params(
        raw=raw,
        industries=keys,
        by_industry={name: np.array([float(r[name]) for r in rows]) for name in _INDUSTRY_NUMBERS},
        permit=np.array([bool(r["permit"]) for r in rows]),
        standardization=np.array([bool(r["standardization"]) for r in rows]),
        departments=tuple(str(r["department"]) for r in rows),
        words=tuple(tuple(r["words"]) for r in rows),
    )
