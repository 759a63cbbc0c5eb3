"""The risk model: LightGBM for P(responsible accident within 12 months), monotone in every
feature whose catalogue direction is ±1 and additive (each tree on one feature) by default, with
Platt calibration on the validation period.

Platt scaling is linear in the model's log-odds, so the calibrated log-odds is still the sum of
per-feature contributions: LightGBM's exact TreeSHAP values (``pred_contrib``) times the
calibration slope. Those contributions cost about as much as a prediction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from models.contrib import raw_contributions, step_table
from models.exposure import Exposure

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 8,
    "min_data_in_leaf": 200,
    "lambda_l2": 10.0,
    "feature_fraction": 1.0,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_bin": 63,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
}


class RiskModel:
    """Estimator in scikit-learn's manner: parameters in ``__init__``, checks in ``fit``,
    fitted attributes end in ``_``."""

    def __init__(
        self,
        directions: Mapping[str, int],
        categories: Mapping[str, Sequence[str]] | None = None,
        *,
        additive: bool = True,
        monotone: bool = True,
        pairs: Sequence[tuple[str, str]] = (),
        relative: Sequence[str] = (),
        fixed_k: Mapping[str, float] | None = None,
        per: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        num_boost_round: int = 1500,
        early_stopping_rounds: int = 100,
        seed: int = 7,
    ) -> None:
        self.directions = dict(directions)
        self.categories = {k: list(v) for k, v in (categories or {}).items()}
        self.additive = additive
        self.monotone = monotone
        self.pairs = tuple(pairs)
        self.relative = tuple(relative)
        self.fixed_k = dict(fixed_k or {})
        self.per = dict(per or {})
        self.params = dict(params or {})
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed

    # -- fitting -----------------------------------------------------------------------------
    def fit(
        self, X: pd.DataFrame, y: np.ndarray, X_valid: pd.DataFrame, y_valid: np.ndarray
    ) -> RiskModel:
        features = list(self.directions)
        for frame, name in ((X, "X"), (X_valid, "X_valid")):
            missing = [f for f in features if f not in frame.columns]
            if missing:
                raise ValueError(f"{name} lacks features: {', '.join(missing)}")
        for values, name in ((y, "y"), (y_valid, "y_valid")):
            if not set(np.unique(values)) <= {0, 1}:
                raise ValueError(f"{name} must be 0/1 labels")
        if len(np.unique(y_valid)) < 2:
            raise ValueError("the validation period needs both accidents and no accidents")
        unknown = {a for pair in self.pairs for a in pair} - set(features)
        if unknown:
            raise ValueError(f"pairs name unknown features: {', '.join(sorted(unknown))}")
        self.features_ = features
        self.exposure_: Exposure | None = None
        if self.relative:  # counts judged against the exposure (models.exposure)
            self.exposure_ = Exposure.fit(
                X,
                [f for f in self.relative if f in features],
                fixed_k=self.fixed_k,
                per=getattr(self, "per", {}),
            )
        index = {f: i for i, f in enumerate(features)}
        params = {**DEFAULT_PARAMS, **self.params, "seed": self.seed}
        if self.monotone:
            params["monotone_constraints"] = [int(np.sign(self.directions[f])) for f in features]
            params["monotone_constraints_method"] = "basic"
        if self.additive:
            groups = [[i] for i in range(len(features))]
            groups += [[index[a], index[b]] for a, b in self.pairs]
            params["interaction_constraints"] = groups
        train = lgb.Dataset(self.prepare(X), label=np.asarray(y), free_raw_data=True)
        valid = lgb.Dataset(self.prepare(X_valid), label=np.asarray(y_valid), reference=train)
        self.booster_ = lgb.train(
            params,
            train,
            num_boost_round=self.num_boost_round,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        raw = np.asarray(self.booster_.predict(self.prepare(X_valid), raw_score=True))
        platt = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), np.asarray(y_valid))
        self.calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        self.best_iteration_ = int(
            self.booster_.best_iteration or self.booster_.current_iteration()
        )
        # the contributions as step functions; None unless every tree uses one feature
        self.steps_ = step_table(self.booster_, self.prepare(X.head(1)))
        return self

    # -- prediction --------------------------------------------------------------------------
    def judged(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` with its counts as relative rates when the model judges them against the
        exposure (a model fitted without ``relative`` reads them as they are)."""
        exposure = getattr(self, "exposure_", None)  # models pickled before it had none
        return X if exposure is None else exposure.relative(X)

    def expected(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each relative count's expected value for the rows' exposure (empty without)."""
        exposure = getattr(self, "exposure_", None)
        return {} if exposure is None else exposure.expected(X)

    def exposure_inputs(self) -> tuple[str, ...]:
        """What the counts' expectations read: the peer group's columns and any share's
        denominator (empty for a model that reads its counts as they are)."""
        exposure = getattr(self, "exposure_", None)
        return () if exposure is None else exposure.inputs

    def inputs(self) -> list[str]:
        """The columns the model reads: its features and what their expectations read (a
        share's denominator is not a feature of its own)."""
        extra = [c for c in self.exposure_inputs() if c not in self.directions]
        return [*self.directions, *extra]

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = self.judged(X[self.inputs()])[list(self.directions)].copy()
        for name, values in self.categories.items():
            frame[name] = pd.Categorical(frame[name], categories=values)
        for name in frame.columns:
            if name not in self.categories:
                frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
        return frame

    def _columns(self, X: pd.DataFrame) -> dict[str, pd.Series]:
        """The model's columns as :meth:`prepare` makes them, without copying the frame."""
        out: dict[str, pd.Series] = {}
        X = self.judged(X)
        for name in self.directions:
            column = X[name]
            if name in self.categories:
                dtype = pd.CategoricalDtype(self.categories[name])
                if column.dtype != dtype:
                    column = pd.Series(pd.Categorical(column, dtype=dtype), index=X.index)
            out[name] = column
        return out

    def _check(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("RiskModel is not fitted yet: call fit first")

    def raw_logit(self, X: pd.DataFrame) -> np.ndarray:
        self._check()
        return np.asarray(self.booster_.predict(self.prepare(X), raw_score=True), dtype=float)

    def logit(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds of an accident within 12 months."""
        self._check()
        a, b = self.calibration_
        return a * self.raw_logit(X) + b

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(X)))

    def logit_change(
        self, before: pd.DataFrame, after: pd.DataFrame, features: set[str]
    ) -> np.ndarray:
        """Change in calibrated log-odds when ``before`` becomes ``after``, which differ only in
        ``features``: from those features' step tables when the model is additive."""
        self._check()
        if self.steps_ is None:
            return self.logit(after) - self.logit(before)
        delta = np.zeros(len(before))
        before, after = self.judged(before), self.judged(after)
        for name in [f for f in self.features_ if f in features]:  # a fixed order of additions
            if name in self.categories:  # categories go through prepare for their codes
                old, new = self.prepare(before)[name], self.prepare(after)[name]
            else:
                old, new = before[name].astype(float), after[name].astype(float)
            step = self.steps_.steps[name]
            delta += step(new) - step(old)
        return self.calibration_[0] * delta

    def contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """(base log-odds per row, per-feature contributions) in calibrated log-odds; they add up
        exactly to :meth:`logit`. The contributions are LightGBM's TreeSHAP values scaled by the
        calibration slope."""
        self._check()
        a, b = self.calibration_
        if self.steps_ is not None:
            raw = raw_contributions(self.steps_, self._columns(X))
        else:
            raw = np.asarray(self.booster_.predict(self.prepare(X), pred_contrib=True))
        scaled = np.multiply(raw[:, :-1], a, order="F")
        contrib = pd.DataFrame(scaled, columns=self.features_, index=X.index, copy=False)
        return a * raw[:, -1] + b, contrib

    def trees_per_feature(self) -> dict[str, int]:
        """How many trees split on each feature (an additive model's trees use one each)."""
        self._check()
        dump = self.booster_.dump_model()
        used: dict[str, int] = dict.fromkeys(self.features_, 0)

        def walk(node: dict[str, Any], into: set[int]) -> None:
            if "split_feature" in node:
                into.add(node["split_feature"])
                walk(node["left_child"], into)
                walk(node["right_child"], into)

        for tree in dump["tree_info"]:
            split: set[int] = set()
            walk(tree["tree_structure"], split)
            for i in split:
                used[self.features_[i]] += 1
        return used
