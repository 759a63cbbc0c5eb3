"""Pricing: base rate by industry and size band × floating factors, the product clamped to the
tariff's band, then an optional renewal cap against last year's rate. Vectorised over a frame of
quote inputs; one enterprise is a frame of one row.

Rates are ‰ of the insured amount per insured person and year, so
``premium = insured amount per person × headcount × rate / 1000``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contracts import INDUSTRIES
from features.grades import GRADE_ORDER
from models.tariff.policy import HONOURS, Tariff

INPUTS = (
    "industry",  # catalogue key
    "headcount",  # insured persons (all employees at the same amount)
    "insured_amount_cny",  # death/disability limit per person
    "probability",  # the model's P(responsible accident within 12 months)
    "accident_grade",  # worst grade in the experience window, "" when none
    "standardization_grade",  # 1, 2, 3 or empty
    "honours",  # none, city, province
    "listed",  # an entry with an insurance measure in force at as_of
    "previous_rate",  # last year's rate ‰, empty when none
)


class PricingError(ValueError):
    """Inputs the tariff cannot price; the message names the column and the rows."""


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r) for r in rows[:5])
    return f"row(s) {shown}{' …' if len(rows) > 5 else ''}"


def _check(tariff: Tariff, x: pd.DataFrame) -> None:
    missing = [c for c in INPUTS if c not in x.columns]
    if missing:
        raise PricingError(f"missing input column(s) {missing}")
    problems = {
        "industry": ~x["industry"].isin(list(INDUSTRIES)).to_numpy(),
        "headcount": ~(x["headcount"].to_numpy(dtype=float) >= 1),
        "insured_amount_cny": ~(
            x["insured_amount_cny"].to_numpy(dtype=float) >= tariff.insurance.min_insured_amount_cny
        ),
        "honours": ~x["honours"].isin(HONOURS).to_numpy(),
        "accident_grade": ~x["accident_grade"].isin(["", *GRADE_ORDER]).to_numpy(),
        "previous_rate": x["previous_rate"].to_numpy(dtype=float) <= 0,
    }
    if tariff.factors.model_risk.enabled:
        p = x["probability"].to_numpy(dtype=float)
        problems["probability"] = ~((p >= 0) & (p <= 1))
    for column, bad in problems.items():
        if bad.any():
            raise PricingError(f"{column}: invalid value in {_rows(bad)}")


def price(tariff: Tariff, inputs: pd.DataFrame) -> pd.DataFrame:
    """One priced row per input row: base rate, each factor's multiplier, the product before
    and after the band, the rate before and after the renewal cap, premium and compulsory."""
    x = inputs.reset_index(drop=True)
    _check(tariff, x)
    f = tariff.factors
    industry = pd.Categorical(x["industry"], categories=list(INDUSTRIES)).codes
    n = x["headcount"].to_numpy(dtype=float)
    band = tariff.size_bands.index(n)
    base = tariff.table("base_rates")[industry, band]
    out = pd.DataFrame(
        {
            "size_band": np.asarray(tariff.size_bands.labels, dtype=object)[band],
            "base_rate": base,
        }
    )
    m = f.model_risk
    if m.enabled:
        reference = tariff.table("reference")[industry, band]
        p = x["probability"].to_numpy(dtype=float)
        relative = np.clip(p / reference, m.relative_floor, m.relative_cap)
        weight = n / (n + m.credibility_k)
    else:
        reference = relative = np.full(len(x), np.nan)
        weight = np.zeros(len(x))
    out["reference"] = reference
    out["relative_risk"] = relative
    out["credibility"] = weight
    out["f_model_risk"] = np.where(weight > 0, 1 + weight * (relative - 1), 1.0)
    grades = x["accident_grade"].to_numpy(dtype=object)
    e = f.accident_experience
    out["f_accident_experience"] = np.array([e.multiplier(g) for g in grades], dtype=float)
    s = f.standardization
    std = pd.to_numeric(x["standardization_grade"], errors="coerce").to_numpy()
    out["f_standardization"] = np.select(
        [std == 1, std == 2, std == 3], [s.grade_1, s.grade_2, s.grade_3], s.ungraded
    )
    out["f_honours"] = x["honours"].map(f.honours.model_dump()).to_numpy(dtype=float)
    out["f_listing"] = np.where(x["listed"].to_numpy(dtype=bool), f.listing.surcharge, 1.0)
    product = np.prod(out[[c for c in out.columns if c.startswith("f_")]].to_numpy(), axis=1)
    out["product"] = product
    out["product_banded"] = np.clip(product, tariff.band.floor, tariff.band.cap)
    out["rate_banded"] = base * out["product_banded"].to_numpy()
    out["rate"], out["renewal_capped"] = _renewal(tariff, out, x)
    out["premium_cny"] = np.round(
        x["insured_amount_cny"].to_numpy(dtype=float) * n * out["rate"].to_numpy() / 1000, 2
    )
    out["compulsory"] = x["industry"].isin(tariff.insurance.compulsory_industries).to_numpy()
    return out


def _renewal(tariff: Tariff, out: pd.DataFrame, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The banded rate held within the renewal cap around last year's rate; the band still
    wins, so the final rate never leaves it."""
    rate = out["rate_banded"].to_numpy()
    previous = x["previous_rate"].to_numpy(dtype=float)
    r = tariff.renewal
    if r is None:
        return rate, np.zeros(len(rate), dtype=bool)
    has = ~np.isnan(previous)
    low = np.where(has, previous * (1 - r.max_decrease), -np.inf)
    high = np.where(has, previous * (1 + r.max_increase), np.inf)
    capped = np.clip(rate, low, high)
    base = out["base_rate"].to_numpy()
    final = np.clip(capped, base * tariff.band.floor, base * tariff.band.cap)
    return final, ~np.isclose(final, rate, rtol=1e-12, atol=0)
