"""The monitor's numbers, each from a plain frame so that a small case can be checked by hand:
Wilson intervals of realised rates, AUC and KS, the population stability index (PSI), a grade
migration matrix and loss ratios."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.metrics import ks

GRADES = ("A", "B", "C", "D")


def wilson(events: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``events / n`` (NaN, NaN for n = 0)."""
    if n <= 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = events / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = 0.0 if events == 0 else max(0.0, centre - half)
    hi = 1.0 if events == n else min(1.0, centre + half)
    return lo, hi


def rates(frame: pd.DataFrame, by: str | list[str], *, confidence: float = 0.95) -> pd.DataFrame:
    """Per group of ``by``: rows ``n``, ``events`` (sum of ``y``), realised ``rate`` with its
    Wilson interval (``lo``, ``hi``) and the mean ``predicted`` probability (column ``p``)."""
    keys = [by] if isinstance(by, str) else list(by)
    grouped = frame.groupby(keys, observed=True, sort=True)
    out = grouped.agg(n=("y", "size"), events=("y", "sum"), predicted=("p", "mean")).reset_index()
    out["events"] = out["events"].astype(int)
    out["rate"] = out["events"] / out["n"]
    bounds = [
        wilson(int(k), int(n), confidence) for k, n in zip(out["events"], out["n"], strict=True)
    ]
    out["lo"] = [b[0] for b in bounds]
    out["hi"] = [b[1] for b in bounds]
    return out


def auc_ks(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """AUC and KS of ``p`` for outcomes ``y`` (NaN, NaN when only one outcome occurs)."""
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        return math.nan, math.nan
    p = np.asarray(p, dtype=float)
    return float(roc_auc_score(y, p)), ks(y, p)


def score_band(score: np.ndarray | pd.Series, width: int) -> pd.Series:
    """The band ``lo–hi`` (inclusive) of each score, bands ``width`` points wide from 0."""
    lo = (np.asarray(score, dtype=np.int64) // width) * width
    return pd.Series([f"{a}–{a + width - 1}" for a in lo], dtype=object)


def psi(
    reference: pd.Series, current: pd.Series, *, bins: int = 10, epsilon: float = 1e-4
) -> float:
    """Population stability index Σ (c − r) · ln(c / r) over bins: quantile bins of the
    reference for numbers (interior edges, repeats dropped), one bin per category otherwise;
    missing values make a bin of their own. An empty bin counts as ``epsilon``."""
    ref_bins, cur_bins = _binned(reference, current, bins)
    labels = sorted(set(ref_bins) | set(cur_bins), key=str)
    r = pd.Series(ref_bins).value_counts(normalize=True).reindex(labels, fill_value=0.0)
    c = pd.Series(cur_bins).value_counts(normalize=True).reindex(labels, fill_value=0.0)
    r_share = np.maximum(r.to_numpy(dtype=float), epsilon)
    c_share = np.maximum(c.to_numpy(dtype=float), epsilon)
    return float(np.sum((c_share - r_share) * np.log(c_share / r_share)))


def _binned(reference: pd.Series, current: pd.Series, bins: int) -> tuple[list, list]:
    numeric = pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference)
    if not numeric:
        return (
            ["<missing>" if pd.isna(v) else str(v) for v in reference],
            ["<missing>" if pd.isna(v) else str(v) for v in current],
        )
    ref = reference.astype("float64").to_numpy()  # a nullable integer's NA becomes NaN
    cur = current.astype("float64").to_numpy()
    known = ref[~np.isnan(ref)]
    if len(known):
        qs = np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])
        edges = np.unique(qs)
    else:
        edges = np.array([], dtype=float)

    def label(values: np.ndarray) -> list:
        at = np.searchsorted(edges, values, side="right")
        return [-1 if math.isnan(v) else int(b) for v, b in zip(values, at, strict=True)]

    return label(ref), label(cur)


def migration(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Counts of enterprises by grade at the first date (rows) and the second (columns), over
    the enterprises graded on both (series indexed by USCC)."""
    both = pd.DataFrame({"before": before, "after": after}).dropna()
    table = pd.crosstab(both["before"], both["after"])
    return table.reindex(index=list(GRADES), columns=list(GRADES), fill_value=0).astype(int)


def tariff_band(factor: np.ndarray | pd.Series, edges: tuple[float, ...]) -> pd.Series:
    """The float-factor band ``[lo, hi)`` of each banded factor (the last band closed)."""
    e = list(edges)
    x = np.asarray(factor, dtype=float)
    at = np.clip(np.searchsorted(e, x, side="right") - 1, 0, len(e) - 2)
    names = [f"[{e[i]:g}, {e[i + 1]:g}{']' if i == len(e) - 2 else ')'}" for i in range(len(e) - 1)]
    return pd.Series([names[i] for i in at], dtype=object)


def loss_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Per ``band``: policies, premium, losses and their ratio (columns ``premium_cny``,
    ``loss_cny``)."""
    out = (
        frame.groupby("band", sort=True)
        .agg(
            policies=("premium_cny", "size"),
            premium_cny=("premium_cny", "sum"),
            loss_cny=("loss_cny", "sum"),
        )
        .reset_index()
    )
    out["loss_ratio"] = out["loss_cny"] / out["premium_cny"].where(out["premium_cny"] > 0)
    return out
