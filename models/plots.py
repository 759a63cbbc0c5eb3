"""Figures people would rather look at than read: ROC, calibration, SHAP summary, points."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve


def roc(y: np.ndarray, scores: Mapping[str, np.ndarray], aucs: Mapping[str, float]) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {aucs[name]:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, test period")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> Figure:
    order = np.argsort(p, kind="stable")
    groups = [g for g in np.array_split(order, bins) if len(g)]
    predicted = [p[g].mean() for g in groups]
    observed = [y[g].mean() for g in groups]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = max(max(predicted), max(observed)) * 1.1
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    ax.plot(predicted, observed, marker="o")
    ax.set(
        xlabel="predicted probability (decile mean)",
        ylabel="observed accident rate",
        title="Calibration, test period",
    )
    fig.tight_layout()
    return fig


def shap_summary(points: np.ndarray, X: pd.DataFrame) -> Figure:
    """SHAP's summary (beeswarm) of each feature's points: right of zero raises the score."""
    import shap

    fig = plt.figure()
    shap.summary_plot(
        points, X, show=False, max_display=20, plot_size=(8, 7), rng=np.random.default_rng(0)
    )
    fig = plt.gcf()
    fig.axes[0].set_xlabel("points (SHAP value on the score scale; + raises the score)")
    fig.tight_layout()
    return fig


def points_by_feature(points: pd.DataFrame, top: int = 15) -> Figure:
    """Mean points each feature adds or costs, most influential first."""
    spread = points.abs().mean().sort_values(ascending=False).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(spread) + 1.2))
    ax.barh(spread.index, spread.to_numpy(), color="#3b6ea5")
    ax.set(xlabel="mean |points|", title="Where the score comes from")
    fig.tight_layout()
    return fig
