"""Scores with their evidence: probability, score, grade, points per feature, at most four
principal reasons in Chinese and English, and recourse (what would raise the score, by how
many points, and whether it changes the grade). Vectorised over rows; one row is the same call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalogue import render
from models.policy import ScoringPolicy
from models.recourse import Actions
from models.risk import RiskModel
from models.scale import points, published, score_from_logit


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float | str | None
    points: float  # negative: what the feature costs against the average enterprise
    zh: str
    en: str


@dataclass(frozen=True)
class Recourse:
    action: str
    zh: str
    en: str
    points: int  # whole points gained
    grade_after: str
    changes_grade: bool


@dataclass
class Scored:
    """Batch result; rows in the input's order."""

    probability: np.ndarray
    score: np.ndarray  # published: whole points within the policy's range
    grade: np.ndarray  # model grade, before policy overrides
    base_points: np.ndarray  # the points every enterprise starts from
    points: pd.DataFrame  # per feature; base_points + row sum = unclamped score
    reasons: list[list[Reason]]
    recourse: list[list[Recourse]]


def _value(x: object) -> float | str | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return x if isinstance(x, str) else float(x)  # type: ignore[arg-type]


def grades(policy: ScoringPolicy, score: np.ndarray) -> np.ndarray:
    cuts = np.array([g.min_score for g in policy.grades])  # falling, A first
    labels = np.array([g.grade for g in policy.grades])
    return labels[np.argmax(score[:, None] >= cuts[None, :], axis=1)]


def explain(
    model: RiskModel,
    policy: ScoringPolicy,
    actions: Actions,
    X: pd.DataFrame,
    *,
    with_reasons: bool = True,
) -> Scored:
    scale = policy.scale
    base, contrib = model.contributions(X)
    logit = base + contrib.to_numpy().sum(axis=1)
    raw_score = score_from_logit(logit, scale)
    score = published(raw_score, scale)
    grade = grades(policy, score)
    pts = pd.DataFrame(points(contrib.to_numpy(), scale), columns=contrib.columns, index=X.index)
    base_points = score_from_logit(base, scale)
    scored = Scored(
        probability=1.0 / (1.0 + np.exp(-logit)),
        score=score,
        grade=grade,
        base_points=base_points,
        points=pts,
        reasons=[],
        recourse=[],
    )
    if with_reasons:
        scored.reasons = _reasons(pts, X, policy.reasons.max_reasons)
        scored.recourse = _recourse(model, policy, actions, X, raw_score, grade)
    return scored


def _reasons(pts: pd.DataFrame, X: pd.DataFrame, k: int) -> list[list[Reason]]:
    values = pts.to_numpy()
    order = np.argsort(values, axis=1, kind="stable")[:, :k]  # most points lost first
    names = np.array(pts.columns)
    out: list[list[Reason]] = []
    for i in range(len(pts)):
        row: list[Reason] = []
        for j in order[i]:
            if values[i, j] >= -0.5:  # costs less than a point: not a principal reason
                break
            name = names[j]
            value = _value(X.iloc[i][name])
            row.append(
                Reason(
                    name,
                    value,
                    round(float(values[i, j]), 1),
                    render(name, value, "zh"),
                    render(name, value, "en"),
                )
            )
        out.append(row)
    return out


def _recourse(
    model: RiskModel,
    policy: ScoringPolicy,
    actions: Actions,
    X: pd.DataFrame,
    raw_score: np.ndarray,
    grade: np.ndarray,
) -> list[list[Recourse]]:
    scale = policy.scale
    out: list[list[Recourse]] = [[] for _ in range(len(X))]
    used = set(model.features_)
    for action in actions.actions:
        if not action.touches & used:
            continue
        rows = np.flatnonzero(action.applies(X))
        if not len(rows):
            continue
        before = X.iloc[rows]
        after_score = score_from_logit(model.logit(action.apply(before)), scale)
        gained = published(after_score, scale) - published(raw_score[rows], scale)
        after_grade = grades(policy, published(after_score, scale))
        for r, gain, g_after in zip(rows, gained, after_grade, strict=True):
            if gain < 1:
                continue
            values = X.iloc[r]
            out[r].append(
                Recourse(
                    action.id,
                    action.text(values, "zh"),
                    action.text(values, "en"),
                    int(gain),
                    str(g_after),
                    bool(g_after != grade[r]),
                )
            )
    for row in out:
        row.sort(key=lambda a: -a.points)
    return out
