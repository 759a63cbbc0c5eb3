"""Gates a candidate must pass before the ``champion`` alias moves to it: monotone where the
catalogue says so (checked by sweeping each feature, not taken on trust), and not worse than the
current champion on the same test set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.risk import RiskModel


@dataclass(frozen=True)
class GateResult:
    passed: bool
    monotonicity_violations: dict[str, int]  # feature → rows whose sweep broke the direction
    champion_auc: float | None
    candidate_auc: float
    reasons: tuple[str, ...]  # why it failed, in words


def monotonicity_violations(
    model: RiskModel, X: pd.DataFrame, *, rows: int = 200, points: int = 12, seed: int = 0
) -> dict[str, int]:
    """For each ±1 feature, sweep it over its observed quantiles on a sample of rows and count
    rows whose predicted risk moves against the declared direction."""
    sample = X.sample(min(rows, len(X)), random_state=seed)
    out: dict[str, int] = {}
    for name, direction in model.directions.items():
        if direction == 0:
            continue
        values = pd.to_numeric(X[name], errors="coerce").dropna()
        if values.empty:
            out[name] = 0
            continue
        grid = np.unique(np.quantile(values, np.linspace(0, 1, points)))
        grid = np.append(grid, grid[-1] * 2 + 1)  # beyond the observed range too
        swept = sample.loc[sample.index.repeat(len(grid))].copy()
        swept[name] = np.tile(grid, len(sample))
        risk = model.raw_logit(swept).reshape(len(sample), len(grid))
        steps = np.diff(risk, axis=1) * direction
        out[name] = int((steps < -1e-9).any(axis=1).sum())
    return out


def judge(
    model: RiskModel,
    X_test: pd.DataFrame,
    candidate_auc: float,
    champion_auc: float | None,
    *,
    tolerance: float = 0.0,
) -> GateResult:
    violations = monotonicity_violations(model, X_test)
    reasons = [
        f"{n}: {k} rows move against the declared direction" for n, k in violations.items() if k
    ]
    if champion_auc is not None and candidate_auc < champion_auc - tolerance:
        reasons.append(
            f"test AUC {candidate_auc:.4f} is below the champion's {champion_auc:.4f} (same rows)"
        )
    return GateResult(not reasons, violations, champion_auc, candidate_auc, tuple(reasons))
