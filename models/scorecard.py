"""The classic baseline: a weight-of-evidence binned logistic scorecard (optbinning's manner,
kept small). Numeric features are cut at quantiles, missing values get a bin of their own,
categories are bins; each bin's woe = ln(share of goods / share of bads), smoothed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

MISSING = "missing"


class WoeScorecard:
    def __init__(self, max_bins: int = 8, smoothing: float = 0.5, C: float = 1.0) -> None:
        self.max_bins = max_bins
        self.smoothing = smoothing
        self.C = C

    def fit(self, X: pd.DataFrame, y: np.ndarray, categorical: Sequence[str] = ()) -> WoeScorecard:
        y = np.asarray(y, dtype=int)
        if len(X) != len(y):
            raise ValueError("X and y differ in length")
        if len(np.unique(y)) < 2:
            raise ValueError("y needs both classes")
        self.features_ = list(X.columns)
        self.categorical_ = set(categorical)
        self.edges_: dict[str, np.ndarray] = {}
        self.woe_: dict[str, dict[str, float]] = {}
        for name in self.features_:
            if name not in self.categorical_:
                values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float)
                present = values[~np.isnan(values)]
                qs = np.linspace(0, 1, self.max_bins + 1)[1:-1]
                edges = np.unique(np.quantile(present, qs)) if len(present) else np.array([])
                self.edges_[name] = edges
            bins = self._bins(name, X[name])
            table = pd.crosstab(bins, y).reindex(columns=[0, 1], fill_value=0)
            goods = (table[0] + self.smoothing) / (table[0].sum() + self.smoothing)
            bads = (table[1] + self.smoothing) / (table[1].sum() + self.smoothing)
            self.woe_[name] = np.log(goods / bads).to_dict()
        self.logistic_ = LogisticRegression(C=self.C, max_iter=1000).fit(self.transform(X), y)
        return self

    def _bins(self, name: str, column: pd.Series) -> pd.Series:
        if name in self.categorical_:
            return column.astype(object).where(column.notna(), MISSING).astype(str)
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        labels = np.searchsorted(self.edges_[name], values, side="right").astype(str)
        return pd.Series(np.where(np.isnan(values), MISSING, labels), index=column.index)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "woe_"):
            raise NotFittedError("WoeScorecard is not fitted yet: call fit first")
        return pd.DataFrame(
            {n: self._bins(n, X[n]).map(self.woe_[n]).fillna(0.0) for n in self.features_},
            index=X.index,
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.logistic_.predict_proba(self.transform(X))[:, 1]
