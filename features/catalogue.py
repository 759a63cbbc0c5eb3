"""The feature catalogue: what each feature means, in words an enterprise can read.

The catalogue is versioned data (``catalogue.toml`` next to this module), validated on load; its
version and sha256 are recorded with every model trained on it. Each feature has a sentence
template in Chinese and English that :func:`render` fills with the enterprise's value, the policy
direction of risk (+1 more is riskier, −1 more is safer, 0 none) and, when the enterprise can act
on it, what action moves it.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from features.contracts import INDUSTRIES, TABLES, VIOLATION_CATEGORIES

CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")
FAMILIES = ("violations", "penalties", "accidents", "hazards", "context")
Lang = Literal["zh", "en"]


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the feature and the field."""


@dataclass(frozen=True)
class Feature:
    name: str
    family: str
    table: str  # the history table it is computed from; missing when that table is absent
    unit: str
    window: str | None  # "90d", "1y", "3y"; None for a state at as_of
    window_days: int | None
    direction: int  # policy direction of risk: +1 more is riskier, −1 safer, 0 none
    actionable: bool
    zh: str  # sentence templates, filled with {value}
    en: str
    action_zh: str = ""
    action_en: str = ""
    cap: float | None = None  # "days since last": values above are cut to it, no event = cap
    code: int = 0  # the stable reason code shown with each reason; never reused
    since: str = ""  # the catalogue version that added it ("": from the first)

    @property
    def categorical(self) -> bool:
        return self.unit == "category"


@dataclass(frozen=True)
class Catalogue:
    version: str
    sha256: str
    days_since_cap: int
    windows: dict[str, int]
    listed_categories: frozenset[str]  # violation categories the listing rules name
    features: dict[str, Feature]


_FIELDS = {
    "name",
    "family",
    "table",
    "unit",
    "window",
    "direction",
    "actionable",
    "capped",
    "zh",
    "en",
    "action_zh",
    "action_en",
    "code",
    "since",
}
_REQUIRED = ("name", "family", "table", "unit", "direction", "zh", "en", "code")


def plural(value: float) -> dict[str, str]:
    """English plural endings: {s} and {ies} (one day, two days; one penalty, two penalties)."""
    one = abs(value) == 1.0
    return {"s": "" if one else "s", "ies": "y" if one else "ies"}


def _feature(raw: dict[str, Any], index: int, windows: dict[str, int], cap: int) -> Feature:
    where = f"{CATALOGUE_FILE.name}: feature #{index + 1} ({raw.get('name', '?')})"
    missing = [f for f in _REQUIRED if f not in raw]
    if missing:
        raise CatalogueError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if raw["family"] not in FAMILIES:
        raise CatalogueError(f"{where}: family {raw['family']!r} is not one of {FAMILIES}")
    if raw["table"] not in TABLES:
        raise CatalogueError(f"{where}: table {raw['table']!r} is not a history table")
    if raw["direction"] not in (-1, 0, 1):
        raise CatalogueError(f"{where}: direction must be -1, 0 or 1, not {raw['direction']!r}")
    window = raw.get("window")
    if window is not None and window not in windows:
        raise CatalogueError(f"{where}: window {window!r} is not one of {sorted(windows)}")
    actionable = bool(raw.get("actionable", False))
    if actionable and not (raw.get("action_zh") and raw.get("action_en")):
        raise CatalogueError(f"{where}: an actionable feature needs action_zh and action_en")
    feature = Feature(
        name=raw["name"],
        family=raw["family"],
        table=raw["table"],
        unit=raw["unit"],
        window=window,
        window_days=windows[window] if window else None,
        direction=raw["direction"],
        actionable=actionable,
        zh=raw["zh"],
        en=raw["en"],
        action_zh=raw.get("action_zh", ""),
        action_en=raw.get("action_en", ""),
        cap=float(cap) if raw.get("capped") else None,
        code=raw["code"],
        since=str(raw.get("since", "")),
    )
    if not isinstance(feature.code, int) or not 100 <= feature.code <= 999:
        raise CatalogueError(f"{where}: code must be a whole number from 100 to 999")
    sample: Any = "other" if feature.categorical else 1.0
    for lang in ("zh", "en"):
        template = getattr(feature, lang)
        if "{value" not in template:
            raise CatalogueError(f"{where}: the {lang} template has no {{value}}")
        try:
            template.format(value=sample, **plural(1.0))
        except (KeyError, ValueError, IndexError) as exc:
            raise CatalogueError(f"{where}: the {lang} template does not format: {exc}") from exc
    return feature


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    """Read and validate a catalogue file."""
    data = path.read_bytes()
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path.name}: not valid TOML: {exc}") from exc
    for key in ("version", "days_since_cap", "windows", "feature"):
        if key not in raw:
            raise CatalogueError(f"{path.name}: missing top-level {key!r}")
    windows = raw["windows"]
    bad = {k: v for k, v in windows.items() if not isinstance(v, int) or v <= 0}
    if bad:
        raise CatalogueError(f"{path.name}: windows must be positive whole days: {bad}")
    listed = raw.get("violations", {}).get("listed_categories", [])
    unknown = [c for c in listed if c not in VIOLATION_CATEGORIES]
    if unknown:
        raise CatalogueError(f"{path.name}: violations.listed_categories: unknown {unknown}")
    features: dict[str, Feature] = {}
    retired = set(raw.get("codes", {}).get("retired", []))
    codes: dict[int, str] = {}
    for i, entry in enumerate(raw["feature"]):
        feature = _feature(entry, i, windows, raw["days_since_cap"])
        if feature.name in features:
            raise CatalogueError(f"{path.name}: feature {feature.name!r} is declared twice")
        if feature.code in codes or feature.code in retired:
            taken = codes.get(feature.code, "a retired feature")
            raise CatalogueError(
                f"{path.name}: feature {feature.name!r}: code {feature.code} is {taken}'s; "
                "a reason code is never reused"
            )
        codes[feature.code] = feature.name
        features[feature.name] = feature
    return Catalogue(
        version=str(raw["version"]),
        sha256=hashlib.sha256(data).hexdigest(),
        days_since_cap=raw["days_since_cap"],
        windows=dict(windows),
        listed_categories=frozenset(listed),
        features=features,
    )


_LOADED = load_catalogue()
CATALOGUE: dict[str, Feature] = _LOADED.features
CATALOGUE_VERSION = _LOADED.version
CATALOGUE_SHA256 = _LOADED.sha256
WINDOWS = _LOADED.windows
DAYS_SINCE_CAP = _LOADED.days_since_cap
LISTED_CATEGORIES = _LOADED.listed_categories

_CATEGORY_LABELS: dict[str, dict[Lang, dict[str, str]]] = {
    "industry": {
        "zh": {k: zh for k, (zh, _) in INDUSTRIES.items()},
        "en": {k: k.replace("_", " ") for k in INDUSTRIES},
    }
}
_MISSING = {"zh": "（无数据）", "en": " (no data)"}


def render(name: str, value: Any, lang: Lang = "en") -> str:
    """The feature's sentence filled with ``value`` ("2 major hidden dangers not yet rectified")."""
    feature = CATALOGUE.get(name)
    if feature is None:
        raise KeyError(f"{name!r} is not in the feature catalogue")
    if lang not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', not {lang!r}")
    template = getattr(feature, lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _blank(template, "—") + _MISSING[lang]
    if feature.categorical:
        value = _CATEGORY_LABELS.get(name, {}).get(lang, {}).get(str(value), str(value))
        return template.format(value=value, **plural(2.0))
    return template.format(value=float(value), **plural(float(value)))


_VALUE = re.compile(r"\{value(:[^}]*)?\}")


def _blank(template: str, placeholder: str = "n") -> str:
    return _VALUE.sub(placeholder, template).replace("{s}", "s").replace("{ies}", "ies")


def markdown_table(catalogue: dict[str, Feature] | None = None) -> str:
    """The catalogue as a Markdown table (generated into the README, never copied by hand)."""
    rows = [
        f"Feature catalogue version {CATALOGUE_VERSION} (sha256 {CATALOGUE_SHA256[:12]}…). "
        "Direction: ↑ more is riskier, ↓ more is safer, · no policy direction. Windows end at "
        f'the as-of date; "days since" features are capped at {DAYS_SINCE_CAP} days (no event '
        "counts as the cap); a feature is empty when its source table is absent.",
        "",
        "| code | feature | family | window | unit | risk | actionable | English | 中文 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    arrows = {1: "↑", -1: "↓", 0: "·"}
    for f in (catalogue or CATALOGUE).values():
        action = f"yes: {f.action_en}" if f.actionable else "no"
        cells = [
            str(f.code),
            f"`{f.name}`",
            f.family,
            f.window or "at as-of",
            f.unit,
            arrows[f.direction],
            action,
            _blank(f.en),
            _blank(f.zh),
        ]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
