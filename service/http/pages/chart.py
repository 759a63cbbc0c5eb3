"""Points per feature for one enterprise, as bars for the page's chart: what raised the score
and what lowered it against the average enterprise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, render
from features.pit import as_of as features_as_of
from features.store import History
from models.explain import explain
from service.engine.decisions import Scorer
from service.http.pages.texts import Lang


@dataclass(frozen=True)
class Bar:
    feature: str
    label: str
    points: float
    width: float  # share of the widest bar, 0–1


@dataclass(frozen=True)
class Chart:
    base_points: float
    bars: list[Bar]


def _plain(cell: object) -> float | str | None:
    if cell is None or isinstance(cell, str):
        return cell
    return None if pd.isna(cell) else float(cell)  # type: ignore[arg-type]


def chart(
    scorer: Scorer, history: History, uscc: str, as_of: dt.date, lang: Lang, *, bars: int
) -> Chart:
    """The ``bars`` features that moved the score most, either way, labelled in ``lang``."""
    X = features_as_of(history, pd.DataFrame({"uscc": [uscc], "as_of": pd.Timestamp(as_of)}))
    scored = explain(scorer.loaded.model, scorer.policy, scorer.actions, X, with_reasons=False)
    points = scored.points.iloc[0]
    top = points.reindex(points.abs().sort_values(ascending=False).index)
    top = top[top.abs() >= 0.5].head(bars)
    widest = float(top.abs().max()) if len(top) else 1.0
    row = X.iloc[0]
    out = []
    for name, value in top.items():
        label = render(str(name), _plain(row.get(name)), lang) if name in CATALOGUE else str(name)
        out.append(Bar(str(name), label, round(float(value), 1), abs(float(value)) / widest))
    return Chart(float(np.asarray(scored.base_points)[0]), out)
