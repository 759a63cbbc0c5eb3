"""Accident grades by 国务院令第493号: the highest grade that any one measure reaches."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contracts import ACCIDENT_GRADES

GRADE_ORDER = tuple(g for g, *_ in reversed(ACCIDENT_GRADES))  # general … especially_major


def accident_grade(deaths: int, serious_injuries: int, direct_loss_cny: float) -> str:
    for grade, d, s, loss in ACCIDENT_GRADES[:-1]:
        if deaths >= d or serious_injuries >= s or direct_loss_cny >= loss:
            return grade
    return "general"


def accident_grades(accidents: pd.DataFrame) -> pd.Series:
    """Vectorised grade of each accident row (ordered categorical: general … especially_major)."""
    graded = grade_names(
        accidents["deaths"].to_numpy(),
        accidents["serious_injuries"].to_numpy(),
        accidents["direct_loss_cny"].to_numpy(),
    )
    return pd.Series(
        pd.Categorical(graded, categories=GRADE_ORDER, ordered=True), index=accidents.index
    )


def grade_names(deaths: np.ndarray, injuries: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """The grade's name of each accident, from its deaths, serious injuries and direct loss."""
    conditions = [
        (deaths >= d) | (injuries >= s) | (loss >= money) for _, d, s, money in ACCIDENT_GRADES[:-1]
    ]
    names = [g for g, *_ in ACCIDENT_GRADES[:-1]]
    return np.select(conditions, names, default="general")
