"""The risk model: exact contributions (equal to shap's TreeExplainer), monotone in the
catalogue's directions, and an added violation, accident or open hazard never raises a score."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from experiments.simulate import World
from features.pit import as_of
from features.store import History
from models.explain import explain, judged_logit
from models.gates import judge, monotonicity_violations
from models.policy import ScoringPolicy, load_policy
from models.recourse import Actions, load_actions
from models.risk import RiskModel
from models.scale import score_from_logit
from models.training import CATEGORIES, Trained, directions

AS_OF = pd.Timestamp("2025-06-30")


def test_contributions_equal_shap_tree_explainer(trained: Trained, data) -> None:  # type: ignore[no-untyped-def]
    X = data[0].sample(400, random_state=1)
    model = trained.model
    base, contrib = model.contributions(X)
    slope = model.calibration_[0]
    values = shap.TreeExplainer(model.booster_).shap_values(model.prepare(X))
    np.testing.assert_allclose(contrib.to_numpy(), slope * np.asarray(values), atol=1e-9)
    np.testing.assert_allclose(base + contrib.sum(axis=1), model.logit(X), atol=1e-9)


def test_a_model_with_an_interaction_pair_is_exact_too(data) -> None:  # type: ignore[no-untyped-def]
    X, y, meta = data
    dates = np.sort(meta["as_of"].unique())
    train, valid = meta["as_of"] < dates[-3], meta["as_of"] >= dates[-3]
    model = RiskModel(directions(), CATEGORIES, pairs=[("employees", "industry")]).fit(
        X[train], y[train].to_numpy(), X[valid], y[valid].to_numpy()
    )
    assert model.steps_ is None  # trees on two features: TreeSHAP does the work
    sample = X[valid].head(200)
    _, contrib = model.contributions(sample)
    values = shap.TreeExplainer(model.booster_).shap_values(model.prepare(sample))
    np.testing.assert_allclose(
        contrib.to_numpy(), model.calibration_[0] * np.asarray(values), atol=1e-9
    )
    # and its recourse re-predicts from every feature
    scored = explain(model, load_policy(), load_actions(), sample)
    offered = [r for i in range(len(sample)) for r in scored.recourse_of(i)]
    assert offered and all(r.points >= 1 for r in offered)


def test_every_tree_uses_one_feature(trained: Trained) -> None:
    assert trained.model.steps_ is not None
    assert sum(trained.model.trees_per_feature().values()) == trained.model.booster_.num_trees()


def test_the_model_is_monotone_where_the_catalogue_says(trained: Trained, data) -> None:  # type: ignore[no-untyped-def]
    assert set(monotonicity_violations(trained.model, data[0]).values()) == {0}
    unconstrained = monotonicity_violations(trained.unconstrained, data[0])
    assert sum(unconstrained.values()) > 0  # the sweep does catch a model that is not


def test_points_add_up_to_the_score(
    trained: Trained,
    data,
    policy: ScoringPolicy,  # type: ignore[no-untyped-def]
    actions: Actions,
) -> None:
    X = data[0].head(500)
    scored = explain(trained.model, policy, actions, X, with_reasons=False)
    unclamped = scored.base_points + scored.points.sum(axis=1).to_numpy()
    expected = score_from_logit(judged_logit(trained.model, policy, X), policy.scale)
    np.testing.assert_allclose(unclamped, expected, atol=1e-6)
    assert not set(policy.conduct.context) & set(scored.points.columns)  # context sets the base
    inside = (expected > policy.scale.min_score) & (expected < policy.scale.max_score)
    assert np.all(np.abs(scored.score[inside] - unclamped[inside]) <= 0.5)


def test_a_worse_candidate_does_not_pass_the_gates(trained: Trained, data) -> None:  # type: ignore[no-untyped-def]
    X = data[0].head(300)
    result = judge(trained.model, X, candidate_auc=0.70, champion_auc=0.75)
    assert not result.passed and "below the champion" in result.reasons[0]
    assert judge(trained.model, X, candidate_auc=0.75, champion_auc=0.75).passed


def test_unfitted_use_is_refused() -> None:
    with pytest.raises(NotFittedError):
        RiskModel(directions(), CATEGORIES).predict_proba(pd.DataFrame())


def test_fit_names_what_is_wrong(data) -> None:  # type: ignore[no-untyped-def]
    X, y, _ = data
    with pytest.raises(ValueError, match="lacks features: employees"):
        RiskModel(directions(), CATEGORIES).fit(X.drop(columns="employees"), y, X, y)
    with pytest.raises(ValueError, match="0/1 labels"):
        RiskModel(directions(), CATEGORIES).fit(X, y * 2, X, y)


EVENTS = st.sampled_from(
    ["violation", "serious_violation", "accident", "open_hazard", "open_major_hazard"]
)


def _with_event(world: World, uscc: str, kind: str, days_before: int, n: int) -> History:
    tables = {k: v.copy() for k, v in world.tables.items()}
    day = (AS_OF - pd.Timedelta(days=days_before)).date()
    if kind.endswith("violation"):
        row = {
            "violation_id": f"NEW-{n}",
            "uscc": uscc,
            "found_on": day,
            "severity": "serious" if kind.startswith("serious") else "general",
            "category": "equipment",
            "penalty_decision_id": None,
            "inspection_id": None,
        }
        tables["violations"] = pd.concat(
            [tables["violations"], pd.DataFrame([row])], ignore_index=True
        )
    elif kind == "accident":
        row = {
            "accident_id": f"NEW-{n}",
            "uscc": uscc,
            "occurred_on": day,
            "reported_on": day,
            "deaths": 0,
            "serious_injuries": 1,
            "direct_loss_cny": 200_000.0,
            "reporting": "on_time",
            "responsible": True,
            "penalty_decision_id": None,
            "principal_fled": False,
        }
        tables["accidents"] = pd.concat(
            [tables["accidents"], pd.DataFrame([row])], ignore_index=True
        )
    else:
        row = {
            "hazard_id": f"NEW-{n}",
            "uscc": uscc,
            "found_on": day,
            "level": "major" if "major" in kind else "general",
            "due_on": day + dt.timedelta(days=30),
            "rectified_on": None,
        }
        tables["hazards"] = pd.concat([tables["hazards"], pd.DataFrame([row])], ignore_index=True)
    return History.from_frames(tables)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(who=st.integers(0, 10_000), kind=EVENTS, days_before=st.integers(0, 1500))
def test_an_added_violation_accident_or_open_hazard_never_raises_the_score(
    trained: Trained, world: World, history: History, who: int, kind: str, days_before: int
) -> None:
    usccs = world.tables["enterprises"]["uscc"]
    uscc = usccs.iloc[who % len(usccs)]
    pair = pd.DataFrame({"uscc": [uscc], "as_of": [AS_OF]})
    before = trained.model.logit(as_of(history, pair))[0]
    after = trained.model.logit(as_of(_with_event(world, uscc, kind, days_before, who), pair))[0]
    assert after >= before - 1e-12  # log-odds of an accident: the score can only fall


def test_features_the_training_config_excludes_are_not_in_the_model(trained: Trained) -> None:
    from models.training import load_config

    excluded = set(load_config().exclude)
    assert excluded and not excluded & set(trained.model.features_)
