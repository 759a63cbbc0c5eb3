"""Discrimination and calibration metrics, in the field's words: auc, ks, brier, log loss, ece."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve


def ks(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the bad and good score distributions."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over quantile bins of the predicted probability."""
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, bins)
    n = len(p)
    return float(sum(len(g) / n * abs(y[g].mean() - p[g].mean()) for g in groups if len(g)))


def report(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return {
        "auc": float(roc_auc_score(y, p)),
        "ks": ks(y, p),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": ece(y, p),
        "base_rate": float(y.mean()),
        "rows": float(len(y)),
    }


def auc_within(y: np.ndarray, s: np.ndarray, groups: np.ndarray) -> float:
    """AUC within groups (peer groups): each group's AUC weighted by its accidents, over the
    groups that have both outcomes. It asks how well ``s`` ranks enterprises against their peers,
    whatever it says about the groups themselves. Mann–Whitney from ranks within each group (ties
    take their average rank), so a bootstrap of it stays cheap."""
    frame = pd.DataFrame({"g": np.asarray(groups), "s": np.asarray(s, float), "y": np.asarray(y)})
    frame["r"] = frame.groupby("g")["s"].rank(method="average")
    by = frame.groupby("g")
    n = by.size()
    bad = by["y"].sum()
    rank_bad = frame["r"].where(frame["y"] == 1, 0.0).groupby(frame["g"]).sum()
    both = (bad > 0) & (bad < n)
    if not both.any():
        return float("nan")
    good = n - bad
    auc = (rank_bad - bad * (bad + 1) / 2) / (bad * good)
    return float(np.average(auc[both], weights=bad[both]))


def bootstrap(
    y: np.ndarray,
    s: np.ndarray,
    metric: Callable[..., float],
    *,
    strata: np.ndarray,
    extra: np.ndarray | None = None,
    rounds: int = 200,
    seed: int = 7,
) -> tuple[float, float]:
    """A 95 % percentile interval of ``metric(y, s[, extra])`` over bootstrap resamples of the
    rows, drawn within each stratum (each test date) so every date keeps its size."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(strata == v) for v in np.unique(strata)]
    values = []
    for _ in range(rounds):
        rows = np.concatenate([rng.choice(g, len(g)) for g in groups])
        if len(np.unique(y[rows])) < 2:
            continue
        args = (y[rows], s[rows]) if extra is None else (y[rows], s[rows], extra[rows])
        values.append(metric(*args))
    lo, hi = np.nanpercentile(values, [2.5, 97.5])
    return float(lo), float(hi)
