"""Reasons and recourse: at most four principal reasons with the enterprise's own values, and
actions whose promised points are what re-scoring gives."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE
from models.explain import credit_score, explain, grades
from models.policy import ScoringPolicy
from models.recourse import Actions
from models.training import Trained


def test_at_most_four_reasons_each_costing_points(
    trained: Trained,
    data,
    policy: ScoringPolicy,  # type: ignore[no-untyped-def]
    actions: Actions,
) -> None:
    X = data[0].tail(800)
    scored = explain(trained.model, policy, actions, X)
    every = [scored.reasons_of(i) for i in range(len(X))]
    assert max(len(r) for r in every) == 4
    for i, reasons in enumerate(every):
        pts = [r.points for r in reasons]
        assert pts == sorted(pts) and all(p < 0 for p in pts)
        if reasons:  # the most costly feature leads
            assert reasons[0].points == round(scored.points.iloc[i].min(), 1)
        for r in reasons:
            assert r.feature in CATALOGUE and r.zh and r.en


def test_reasons_carry_the_enterprises_own_values(
    trained: Trained,
    data,  # type: ignore[no-untyped-def]
    policy: ScoringPolicy,
    actions: Actions,
) -> None:
    X = data[0]
    row = X[X["haz_open_major"] >= 2].head(1)
    assert len(row)
    scored = explain(trained.model, policy, actions, row)
    for r in scored.reasons_of(0):
        if r.feature == "haz_open_major":
            assert f"{int(row['haz_open_major'].iloc[0])}" in r.en


def test_recourse_points_are_what_rescoring_gives(
    trained: Trained,
    data,  # type: ignore[no-untyped-def]
    policy: ScoringPolicy,
    actions: Actions,
) -> None:
    X = data[0]
    X = X[(X["haz_open_major"] > 0) | (X["pen_unfulfilled"] > 0)].head(200)
    scored = explain(trained.model, policy, actions, X)
    by_id = {a.id: a for a in actions.actions}
    offered = 0
    for i in range(len(X)):
        for item in scored.recourse_of(i):
            offered += 1
            after = by_id[item.action].apply(X.iloc[[i]])
            new = credit_score(trained.model, policy, after)[0]
            assert item.points == new - scored.score[i] and item.points >= 1
            assert item.grade_after == grades(policy, np.array([new]))[0]
            assert item.changes_grade == (item.grade_after != scored.grade[i])
    assert offered


def test_an_action_changes_only_what_it_names(actions: Actions, data) -> None:  # type: ignore[no-untyped-def]
    X = data[0].head(50)
    for action in actions.actions:
        after = action.apply(X)
        changed = {c for c in X.columns if not after[c].equals(X[c])}
        assert changed <= action.touches, action.id
        assert all(CATALOGUE[f].actionable for f in action.touches)
    rectify = next(a for a in actions.actions if a.id == "rectify_open_major_hazards")
    assert (rectify.apply(X)["haz_open_major"].fillna(0) == 0).all()
    assert rectify.text(pd.Series({"haz_open_major": 3.0}), "en") == (
        "rectify the 3 open major hidden dangers"
    )
    assert rectify.text(pd.Series({"haz_open_major": 1.0}), "en") == (
        "rectify the 1 open major hidden danger"
    )
    for action in actions.actions:  # every sentence agrees with the count it names
        one = action.text(pd.Series(dict.fromkeys(action.placeholders, 1.0)), "en")
        assert not re.search(r"\b1 (\w+ )*\w+(dangers|decisions|violations)\b", one), one


def test_rows_taken_from_a_batch_are_the_batch_rows(
    trained: Trained,
    data,  # type: ignore[no-untyped-def]
    policy: ScoringPolicy,
    actions: Actions,
) -> None:
    """A score book answers with rows taken from its batch: the same points, reasons and
    recourse as the batch's own rows, in the order asked."""
    X = data[0].tail(300)
    scored = explain(trained.model, policy, actions, X)
    rows = np.array([17, 3, 299, 3])
    taken = scored.take(rows)
    pd.testing.assert_frame_equal(taken.points, scored.points.iloc[rows])
    assert np.array_equal(taken.score, scored.score[rows])
    for k, i in enumerate(rows):
        assert taken.reasons_of(k) == scored.reasons_of(int(i))
        assert taken.recourse_of(k) == scored.recourse_of(int(i))
