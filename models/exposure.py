"""Conduct judged against what is expected for the exposure: each count of misconduct (violations,
penalties, accidents, hidden dangers) becomes a credibility-weighted ratio of observed to expected.

The expected count of an enterprise comes from a Poisson regression on its peer group, fitted on
the training rows: ``log E = a + b_industry + c_band``, the band being the headcount band (1–9,
10–29, 30–99, 100–299, 300–999, 1000+: finer than the tariff's, so that peers are of a size).
Larger enterprises and riskier trades are expected to have more events; the ratio asks whether
this one has more than its peers. Within a peer group the expectation is one number, so the
ratio ranks its members as their counts do.

The ratio is the experience-rating (Bühlmann, Gamma–Poisson) estimate of the enterprise's
relative rate: with a prior relative rate of mean 1 and variance 1/k,

    relative = (observed + k) / (expected + k) = Z · observed / expected + (1 − Z) · 1,
    Z = expected / (expected + k),

so a small enterprise, whose expected count is small, is pulled towards its peers (1) and a large
one is judged mostly on its own record. ``k`` is estimated per count by the method of moments:
``Var(O) = E + E² / k`` over the training rows. The ratio rises with every added event (the
monotone laws hold) and depends on the context only through ``expected``.

A count of some events *out of* others — hidden dangers not rectified by their deadline out of
those that fell due — is judged against its own denominator: ``expected = q · due``, ``q`` the
peers' share (a Poisson regression of the share weighted by ``due``, i.e. of the count with
``log due`` as offset), so the ratio is a credibility-weighted share against the peers'. An
enterprise with nothing due reads as its peers (1), not as perfect; one with many due is judged
on its own share. The ratio still rises with every late one added (``q ≤ 1`` and late ≤ due) and
falls with every one rectified on time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import PoissonRegressor

from features.contracts import INDUSTRIES

K_RANGE = (0.05, 100.0)  # credibility constants are held within these (in expected events)
FIT_ROWS = 200_000  # the regression needs no more rows than this to settle
BANDS = (9, 29, 99, 299, 999)  # headcount bands of the peer groups (inclusive upper bounds)
BAND_LABELS = ("1-9", "10-29", "30-99", "100-299", "300-999", "1000+")


@dataclass
class Expected:
    """One count's regression: intercept, per-industry and per-band effects."""

    intercept: float
    industry: np.ndarray  # by position in INDUSTRIES
    band: np.ndarray  # by headcount band
    k: float  # credibility constant, in expected events
    per: str = ""  # the denominator's column when the count is out of another ("": none)

    def of(self, industry: np.ndarray, band: np.ndarray) -> np.ndarray:
        """The peers' expected count (their share out of ``per``, when it is set)."""
        effect = np.where(industry >= 0, self.industry[np.maximum(industry, 0)], 0.0)
        rate = np.exp(self.intercept + effect + self.band[band])
        return np.minimum(rate, 1.0) if self.per else rate


@dataclass
class Exposure:
    """Expected counts and relative rates of ``counts``, given industry and headcount band."""

    counts: tuple[str, ...]
    bands: tuple[int, ...] = BANDS  # inclusive upper headcounts; the last band is open
    models: dict[str, Expected] = field(default_factory=dict)
    median_employees: float = 20.0

    @classmethod
    def fit(
        cls,
        X: pd.DataFrame,
        counts: Sequence[str],
        *,
        bands: Sequence[int] = BANDS,
        fixed_k: dict[str, float] | None = None,
        per: dict[str, str] | None = None,
        seed: int = 7,
    ) -> Exposure:
        """``fixed_k`` sets a value's credibility constant instead of the method of moments
        (0 for a grade, judged as a plain ratio to its peers' mean); ``per`` names a count's
        denominator (late out of due) when it is a share's numerator."""
        rows = X if len(X) <= FIT_ROWS else X.sample(FIT_ROWS, random_state=seed)
        employees = pd.to_numeric(rows["employees"], errors="coerce")
        median = float(np.nanmedian(employees)) if employees.notna().any() else 20.0
        out = cls(tuple(counts), tuple(bands), median_employees=median)
        industry, band = out.peers(rows)
        n_bands = len(bands) + 1
        design = np.column_stack(
            [
                (industry[:, None] == np.arange(len(INDUSTRIES))[None, :]).astype(float),
                (band[:, None] == np.arange(1, n_bands)[None, :]).astype(float),
            ]
        )
        for name in counts:
            observed = pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float)
            over = (per or {}).get(name, "")
            base = np.ones(len(rows))
            if over:
                base = pd.to_numeric(rows[over], errors="coerce").to_numpy(dtype=float)
            known = ~np.isnan(observed) & ~np.isnan(base)
            if known.sum() < 100 or observed[known].sum() <= 0:
                continue  # a table absent from the extract: its counts stay as they are
            fit = known & (base > 0)
            glm = PoissonRegressor(alpha=1e-4, max_iter=300).fit(
                design[fit], observed[fit] / base[fit], sample_weight=base[fit]
            )
            coef = np.asarray(glm.coef_, float)
            model = Expected(
                float(glm.intercept_),
                coef[: len(INDUSTRIES)],
                np.concatenate([[0.0], coef[len(INDUSTRIES) :]]),
                1.0,
                over,
            )
            expected = model.of(industry[known], band[known]) * base[known]
            excess = np.sum((observed[known] - expected) ** 2 - expected)
            k = np.sum(expected**2) / excess if excess > 0 else K_RANGE[1]
            model.k = float(np.clip(k, *K_RANGE))
            if fixed_k and name in fixed_k:
                model.k = float(fixed_k[name])
            out.models[name] = model
        return out

    def peers(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each row's peer group: (industry position, −1 when unknown; headcount band, the
        median enterprise's when the headcount is unknown)."""
        industry, employees = _context(X, self.median_employees)
        band = np.searchsorted(np.asarray(self.bands), employees, side="left")
        return industry, band

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns an expectation reads: the peer group's and any count's denominator."""
        return ("industry", "employees", *sorted({m.per for m in self.models.values() if m.per}))

    def expected(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each count's expected value for the rows' peer group (out of its denominator)."""
        industry, band = self.peers(X)
        out = {}
        for name, m in self.models.items():
            out[name] = m.of(industry, band)
            if m.per:
                out[name] = out[name] * pd.to_numeric(X[m.per], errors="coerce").to_numpy(float)
        return out

    def relative(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` with each count replaced by its credibility-weighted relative rate (a new frame;
        missing counts stay missing)."""
        if not self.models:
            return X
        out = X.copy(deep=False)
        for name, expected in self.expected(X).items():
            if name not in out:
                continue
            k = self.models[name].k
            observed = pd.to_numeric(out[name], errors="coerce").to_numpy(dtype=float)
            out[name] = (observed + k) / (expected + k)
        return out


def _context(X: pd.DataFrame, median: float) -> tuple[np.ndarray, np.ndarray]:
    """(industry position, −1 when unknown; employees, the median's when unknown)."""
    column = X["industry"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        if list(column.cat.categories) == list(INDUSTRIES):
            industry = column.cat.codes.to_numpy(dtype=np.int64)  # −1 where missing
        else:
            industry = _positions(column.astype(object).to_numpy())
    else:
        industry = _positions(column.to_numpy())
    employees = pd.to_numeric(X["employees"], errors="coerce").to_numpy(dtype=float)
    employees = np.where(np.isnan(employees) | (employees < 1), median, employees)
    return industry, employees


def _positions(values: np.ndarray) -> np.ndarray:
    codes = {name: i for i, name in enumerate(INDUSTRIES)}
    return np.fromiter((codes.get(v, -1) for v in values), np.int64, len(values))
