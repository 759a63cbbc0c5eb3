"""Pricing: base rate by industry and size band × floating factors, the product clamped to the
tariff's band, then an optional renewal cap against last year's rate. Vectorised over columns of
quote inputs; one enterprise is a column of one value.

:func:`price_columns` is the arithmetic, on numpy arrays (a quote of one enterprise pays no
per-call pandas cost); :func:`price` is the same on a frame.

Rates are ‰ of the insured amount per insured person and year, so
``premium = insured amount per person × headcount × rate / 1000``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.contracts import INDUSTRIES
from features.grades import GRADE_ORDER
from models.tariff.policy import HONOURS, MAX_HEADCOUNT, Tariff

INPUTS = (
    "industry",  # catalogue key
    "headcount",  # insured persons (all employees at the same amount)
    "insured_amount_cny",  # death/disability limit per person
    "probability",  # the model's P(responsible accident within 12 months)
    "conduct_risk",  # the credit score's relative risk: its conduct's odds against its peers'
    "accident_grade",  # worst grade in the experience window, "" when none
    "standardization_grade",  # 1, 2, 3 or empty
    "honours",  # none, city, province
    "listed",  # an entry with an insurance measure in force at as_of
    "previous_rate",  # last year's rate ‰, empty when none
)
INDUSTRY_CODE = {name: i for i, name in enumerate(INDUSTRIES)}
ACCIDENT_GRADES = frozenset(["", *GRADE_ORDER])
Columns = Mapping[str, Any]  # column name → array-like, all of one length


class PricingError(ValueError):
    """Inputs the tariff cannot price; the message names the column and the rows."""


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r) for r in rows[:5])
    return f"row(s) {shown}{' …' if len(rows) > 5 else ''}"


def _outside(values: np.ndarray, allowed: Any) -> np.ndarray:
    return np.fromiter((v not in allowed for v in values), bool, len(values))


def _check(tariff: Tariff, x: Columns) -> None:
    optional = () if tariff.factors.model_risk.basis == "conduct" else ("conduct_risk",)
    missing = [c for c in INPUTS if c not in x and c not in optional]
    if missing:
        raise PricingError(f"missing input column(s) {missing}")
    problems = {
        "industry": _outside(x["industry"], INDUSTRY_CODE),
        "headcount": ~((x["headcount"] >= 1) & (x["headcount"] <= MAX_HEADCOUNT)),
        "insured_amount_cny": ~(
            (x["insured_amount_cny"] >= tariff.insurance.min_insured_amount_cny)
            & (x["insured_amount_cny"] <= tariff.insurance.max_insured_amount_cny)
        ),
        "honours": _outside(x["honours"], HONOURS),
        "accident_grade": _outside(x["accident_grade"], ACCIDENT_GRADES),
        "previous_rate": x["previous_rate"] <= 0,
    }
    if tariff.factors.model_risk.enabled:
        p = x["probability"]
        problems["probability"] = ~((p >= 0) & (p <= 1))
        if tariff.factors.model_risk.basis == "conduct":
            problems["conduct_risk"] = ~(x["conduct_risk"] > 0)
    for column, bad in problems.items():
        if bad.any():
            raise PricingError(f"{column}: invalid value in {_rows(bad)}")


def _typed(inputs: Columns) -> dict[str, np.ndarray]:
    """The input columns as the arithmetic reads them (text as objects, numbers as floats)."""
    x: dict[str, np.ndarray] = {}
    for name in INPUTS:
        if name not in inputs:
            continue
        values = inputs[name]
        if name in ("industry", "honours", "accident_grade"):
            x[name] = np.asarray(values, dtype=object)
        elif name == "listed":
            x[name] = np.asarray(values, dtype=bool)
        else:
            x[name] = np.asarray(values, dtype=float)
    return x


def price(tariff: Tariff, inputs: pd.DataFrame) -> pd.DataFrame:
    """:func:`price_columns` of a frame (any index), as a frame with a fresh index."""
    columns = {c: inputs[c].to_numpy() for c in INPUTS if c in inputs.columns}
    if "standardization_grade" in columns:
        std = pd.to_numeric(inputs["standardization_grade"], errors="coerce")
        columns["standardization_grade"] = std.to_numpy(dtype=float)
    return pd.DataFrame(price_columns(tariff, columns))


def price_columns(tariff: Tariff, inputs: Columns) -> dict[str, np.ndarray]:
    """One priced value per input row, by column: base rate, each factor's multiplier, the
    product before and after the band, the rate before and after the renewal cap, premium and
    compulsory. ``standardization_grade`` is a number or NaN here."""
    x = _typed(inputs)
    _check(tariff, x)
    f = tariff.factors
    rows = len(x["industry"])
    industry = np.fromiter((INDUSTRY_CODE[v] for v in x["industry"]), np.int64, rows)
    n = x["headcount"]
    band = tariff.size_bands.index(n)
    base = tariff.table("base_rates")[industry, band]
    out: dict[str, np.ndarray] = {
        "size_band": np.asarray(tariff.size_bands.labels, dtype=object)[band],
        "base_rate": base,
    }
    m = f.model_risk
    if m.enabled:
        if m.basis == "conduct":
            reference = np.full(rows, np.nan)
            relative = np.clip(x["conduct_risk"], m.relative_floor, m.relative_cap)
        else:
            reference = tariff.table("reference")[industry, band]
            relative = np.clip(x["probability"] / reference, m.relative_floor, m.relative_cap)
        weight = n / (n + m.credibility_k)
    else:
        reference = relative = np.full(rows, np.nan)
        weight = np.zeros(rows)
    out["reference"] = reference
    out["relative_risk"] = relative
    out["credibility"] = weight
    out["f_model_risk"] = np.where(weight > 0, 1 + weight * (relative - 1), 1.0)
    e = f.accident_experience
    out["f_accident_experience"] = np.array(
        [e.multiplier(g) for g in x["accident_grade"]], dtype=float
    )
    s = f.standardization
    std = x["standardization_grade"]
    out["f_standardization"] = np.select(
        [std == 1, std == 2, std == 3], [s.grade_1, s.grade_2, s.grade_3], s.ungraded
    )
    honours = f.honours.model_dump()
    out["f_honours"] = np.array([honours[h] for h in x["honours"]], dtype=float)
    out["f_listing"] = np.where(x["listed"], f.listing.surcharge, 1.0)
    multipliers = [v for k, v in out.items() if k.startswith("f_")]
    product = np.prod(np.column_stack(multipliers), axis=1)
    out["product"] = product
    out["product_banded"] = np.clip(product, tariff.band.floor, tariff.band.cap)
    out["rate_banded"] = base * out["product_banded"]
    out["rate"], out["renewal_capped"] = _renewal(tariff, out, x["previous_rate"])
    out["premium_cny"] = np.round(x["insured_amount_cny"] * n * out["rate"] / 1000, 2)
    compulsory = tariff.insurance.compulsory_industries
    out["compulsory"] = np.fromiter((v in compulsory for v in x["industry"]), bool, rows)
    return out


def _renewal(
    tariff: Tariff, out: dict[str, np.ndarray], previous: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The banded rate held within the renewal cap around last year's rate; the band still
    wins, so the final rate never leaves it."""
    rate = out["rate_banded"]
    r = tariff.renewal
    if r is None:
        return rate, np.zeros(len(rate), dtype=bool)
    has = ~np.isnan(previous)
    low = np.where(has, previous * (1 - r.max_decrease), -np.inf)
    high = np.where(has, previous * (1 + r.max_increase), np.inf)
    capped = np.clip(rate, low, high)
    base = out["base_rate"]
    final = np.clip(capped, base * tariff.band.floor, base * tariff.band.cap)
    return final, ~np.isclose(final, rate, rtol=1e-12, atol=0)
