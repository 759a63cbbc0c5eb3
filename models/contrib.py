"""Exact per-feature contributions of an additive tree model, cheaper than a prediction.

In an additive model every tree splits on one feature, so its SHAP value goes wholly to that
feature and equals (the leaf the row falls in) − (the tree's expectation under the training
cover). Summed over a feature's trees that is a step function of the feature alone, so it is
tabulated once per model — the feature's split thresholds and the summed centred leaf value on
each interval (plus one value for missing, or one per category) — and evaluated with
``searchsorted``. The tables are built with LightGBM's own routing (``pred_leaf``), so missing
values and categories go where LightGBM sends them; the result equals TreeSHAP (``pred_contrib``)
to rounding. Models with interaction pairs are left to ``pred_contrib``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Steps:
    """One feature's contribution as a step function (raw log-odds)."""

    thresholds: np.ndarray  # sorted; interval i is (thresholds[i-1], thresholds[i]]
    values: np.ndarray  # len(thresholds) + 1
    missing: float
    categorical: bool  # then ``values`` is indexed by category code

    def __call__(self, column: pd.Series) -> np.ndarray:
        if self.categorical:
            codes = np.asarray(column.cat.codes, dtype=np.int64)
            out = np.full(len(codes), self.missing)
            known = codes >= 0
            out[known] = self.values[codes[known]]
            return out
        x = column.to_numpy(dtype=float)
        out = self.values[np.searchsorted(self.thresholds, x, side="left")]
        out[np.isnan(x)] = self.missing
        return out


@dataclass(frozen=True)
class StepTable:
    steps: dict[str, Steps]
    expected: float  # the base raw score: the sum of the trees' expectations


def _tree_splits(
    node: dict[str, Any], features: set[int], thresholds: dict[int, set[float]]
) -> None:
    if "split_feature" not in node:
        return
    f = node["split_feature"]
    features.add(f)
    if node.get("decision_type") == "<=":
        thresholds.setdefault(f, set()).add(float(node["threshold"]))
    _tree_splits(node["left_child"], features, thresholds)
    _tree_splits(node["right_child"], features, thresholds)


def _leaves(node: dict[str, Any], out: dict[int, tuple[float, float]]) -> None:
    if "split_feature" in node:
        _leaves(node["left_child"], out)
        _leaves(node["right_child"], out)
    else:
        out[node.get("leaf_index", 0)] = (node["leaf_value"], node.get("leaf_count", 1))


def step_table(booster: lgb.Booster, template: pd.DataFrame) -> StepTable | None:
    """Tabulate ``booster``'s per-feature contributions; None when a tree uses two features.

    ``template`` is one prepared row (the model's columns and dtypes); its values are ignored.
    """
    dump = booster.dump_model()
    names = list(template.columns)
    owner: list[int] = []  # per tree: its feature, or -1 for a stump
    centred: list[np.ndarray] = []
    expected = 0.0
    thresholds: dict[int, set[float]] = {}
    for tree in dump["tree_info"]:
        used: set[int] = set()
        _tree_splits(tree["tree_structure"], used, thresholds)
        if len(used) > 1:
            return None
        leaves: dict[int, tuple[float, float]] = {}
        _leaves(tree["tree_structure"], leaves)
        values = np.zeros(max(leaves) + 1)
        counts = np.zeros(max(leaves) + 1)
        for i, (v, c) in leaves.items():
            values[i], counts[i] = v, c
        mean = float((values * counts).sum() / counts.sum())
        expected += mean
        owner.append(used.pop() if used else -1)
        centred.append(values - mean)
    owners = np.array(owner)
    steps: dict[str, Steps] = {}
    for j, name in enumerate(names):
        trees = np.flatnonzero(owners == j)
        column = template[name]
        categorical = isinstance(column.dtype, pd.CategoricalDtype)
        if categorical:
            n = len(column.cat.categories)
            probe = pd.Categorical.from_codes(np.r_[np.arange(n), -1], dtype=column.dtype)
            cuts = np.array([])
        else:
            cuts = np.array(sorted(thresholds.get(j, ())))
            above = np.nextafter(cuts[-1], np.inf) if len(cuts) else 0.0
            probe = np.r_[cuts, above, np.nan]
        frame = template.iloc[np.zeros(len(probe), dtype=int)].reset_index(drop=True)
        frame[name] = probe
        if len(trees):
            leaf = np.asarray(booster.predict(frame, pred_leaf=True)).reshape(len(probe), -1)
            total = np.sum([centred[t][leaf[:, t]] for t in trees], axis=0)
        else:
            total = np.zeros(len(probe))
        steps[name] = Steps(
            cuts, np.asarray(total[:-1], dtype=float), float(total[-1]), categorical
        )
    return StepTable(steps, expected)


def raw_contributions(table: StepTable, frame: Mapping[str, pd.Series]) -> np.ndarray:
    """(rows, features + 1) like ``pred_contrib``: contributions, then the base raw score."""
    rows = len(next(iter(frame.values()))) if frame else 0
    out = np.empty((rows, len(table.steps) + 1), order="F")  # filled column by column
    for j, (name, steps) in enumerate(table.steps.items()):
        out[:, j] = steps(frame[name])
    out[:, -1] = table.expected
    return out
