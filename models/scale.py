"""Points-to-double-odds scaling: probability ↔ score, and log-odds contributions → points.

score = offset + factor · ln(good:bad odds), factor = pdo / ln 2. The risk model's calibrated
log-odds of an accident is linear in its per-feature contributions, so each feature's points are
−factor · (its contribution) and the points add up to the unclamped score exactly.
"""

from __future__ import annotations

import numpy as np

from models.policy import Scale

GRADES = np.array(["A", "B", "C", "D"])


def score_from_logit(logit: np.ndarray, scale: Scale) -> np.ndarray:
    """Unclamped, unrounded score from the log-odds of an accident."""
    return scale.offset - scale.factor * np.asarray(logit, dtype=float)


def score_from_probability(p: np.ndarray, scale: Scale) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return score_from_logit(np.log(p) - np.log1p(-p), scale)


def probability_from_score(score: np.ndarray, scale: Scale) -> np.ndarray:
    logit = (scale.offset - np.asarray(score, dtype=float)) / scale.factor
    return 1.0 / (1.0 + np.exp(-logit))


def points(contributions: np.ndarray, scale: Scale) -> np.ndarray:
    """Points per feature from log-odds contributions (negative: the feature costs points)."""
    return -scale.factor * np.asarray(contributions, dtype=float)


def published(score: np.ndarray, scale: Scale) -> np.ndarray:
    """The score as shown: rounded to a whole point and held within the policy's range."""
    return np.clip(np.rint(score), scale.min_score, scale.max_score).astype(int)
