"""The laws of the credit score (scoring policy 2026.2): it measures conduct, not size.

1. More misconduct never helps: an added violation, accident, open or overdue hidden danger
   never raises the credit score.
2. No penalty for being large or in a risky trade: reasons never name a context feature, and
   the score depends on the context only through the peers' expected counts — two enterprises
   whose records stand in the same ratio to their peers' expectations get the same score,
   whatever their industry, headcount, age or inspections.
3. Incentive compatibility: a hidden danger the enterprise found itself and rectified by its
   deadline never lowers its score, and neither does an inspection it received.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.simulate import World
from features.contracts import INDUSTRIES
from features.pit import as_of
from features.store import History
from models.explain import credit_score, explain
from models.policy import ScoringPolicy
from models.recourse import Actions
from models.training import Trained
from tests.models.test_risk import _with_event

AS_OF = pd.Timestamp("2025-06-30")
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EVENTS = st.sampled_from(
    ["violation", "serious_violation", "accident", "open_hazard", "open_major_hazard"]
)


def _score(trained: Trained, policy: ScoringPolicy, history: History, uscc: str) -> int:
    pair = pd.DataFrame({"uscc": [uscc], "as_of": [AS_OF]})
    return int(credit_score(trained.model, policy, as_of(history, pair))[0])


def _pick(world: World, who: int) -> str:
    usccs = world.tables["enterprises"]["uscc"]
    return str(usccs.iloc[who % len(usccs)])


@SETTINGS
@given(who=st.integers(0, 10_000), kind=EVENTS, days_before=st.integers(0, 1500))
def test_more_misconduct_never_raises_the_credit_score(
    trained: Trained,
    policy: ScoringPolicy,
    world: World,
    history: History,
    who: int,
    kind: str,
    days_before: int,
) -> None:
    uscc = _pick(world, who)
    before = _score(trained, policy, history, uscc)
    after = _score(trained, policy, _with_event(world, uscc, kind, days_before, who), uscc)
    assert after <= before


def test_reasons_never_name_a_context_feature(
    trained: Trained,
    data,  # type: ignore[no-untyped-def]
    policy: ScoringPolicy,
    actions: Actions,
) -> None:
    context = set(policy.conduct.context)
    assert context >= {"industry", "employees", "enterprise_age", "insp_1y"}
    X = data[0].sample(3000, random_state=1)
    scored = explain(trained.model, policy, actions, X)
    assert scored.reason_feature is not None
    named = set(scored.reason_feature.ravel()) - {""}
    assert named and not named & context
    assert not context & set(scored.points.columns)
    sums = scored.base_points + scored.points.to_numpy().sum(axis=1)
    inside = (sums > policy.scale.min_score) & (sums < policy.scale.max_score)
    assert np.all(np.abs(scored.score[inside] - sums[inside]) <= 0.5)  # points add up


@SETTINGS
@given(
    row=st.integers(0, 100_000),
    industry=st.sampled_from(list(INDUSTRIES)),
    employees=st.integers(1, 5000),
    age=st.floats(0.1, 40),
    inspections=st.integers(0, 12),
)
def test_the_score_reads_the_context_only_through_the_peers_expectation(
    trained: Trained,
    data,  # type: ignore[no-untyped-def]
    policy: ScoringPolicy,
    row: int,
    industry: str,
    employees: int,
    age: float,
    inspections: int,
) -> None:
    X = data[0]
    one = X.iloc[[row % len(X)]].copy()
    moved = one.copy()
    moved["industry"] = pd.Categorical([industry], categories=X["industry"].cat.categories)
    moved["employees"] = float(employees)
    moved["enterprise_age"] = age
    moved["insp_1y"] = float(inspections)
    exposure = trained.model.exposure_
    assert exposure is not None
    # the same record relative to the new peers: (O' + k) / (E' + k) = (O + k) / (E + k)
    was, now = exposure.expected(one), exposure.expected(moved)
    for name, model in exposure.models.items():
        ratio = (float(one[name].iloc[0]) + model.k) / (was[name][0] + model.k)
        moved[name] = ratio * (now[name][0] + model.k) - model.k
    assert (
        abs(
            credit_score(trained.model, policy, moved)[0]
            - credit_score(trained.model, policy, one)[0]
        )
        <= 1
    )  # equal up to the last bit of the rounding


@SETTINGS
@given(
    who=st.integers(0, 10_000),
    days_before=st.integers(0, 700),
    allowed=st.integers(1, 60),
    taken=st.floats(0, 1),
    level=st.sampled_from(["general", "major"]),
)
def test_a_hazard_found_and_rectified_on_time_never_lowers_the_score(
    trained: Trained,
    policy: ScoringPolicy,
    world: World,
    history: History,
    who: int,
    days_before: int,
    allowed: int,
    taken: float,
    level: str,
) -> None:
    uscc = _pick(world, who)
    found = (AS_OF - pd.Timedelta(days=days_before)).date()
    due = found + dt.timedelta(days=allowed)
    rectified = found + dt.timedelta(days=int(taken * allowed))
    tables = {k: v.copy() for k, v in world.tables.items()}
    row = {
        "hazard_id": f"SELF-{who}",
        "uscc": uscc,
        "found_on": found,
        "level": level,
        "due_on": due,
        "rectified_on": rectified,
        "found_by": "enterprise",
    }
    tables["hazards"] = pd.concat([tables["hazards"], pd.DataFrame([row])], ignore_index=True)
    before = _score(trained, policy, history, uscc)
    # rectified by the deadline, whether or not that day has come by the as-of date
    assert _score(trained, policy, History.from_frames(tables), uscc) >= before


@SETTINGS
@given(who=st.integers(0, 10_000), days_before=st.integers(0, 1500))
def test_an_inspection_received_never_lowers_the_score(
    trained: Trained,
    policy: ScoringPolicy,
    world: World,
    history: History,
    who: int,
    days_before: int,
) -> None:
    uscc = _pick(world, who)
    tables = {k: v.copy() for k, v in world.tables.items()}
    day = (AS_OF - pd.Timedelta(days=days_before)).date()
    row = {"inspection_id": f"INSP-{who}", "uscc": uscc, "inspected_on": day}
    tables["inspections"] = pd.concat(
        [tables["inspections"], pd.DataFrame([row])], ignore_index=True
    )
    assert _score(trained, policy, History.from_frames(tables), uscc) >= _score(
        trained, policy, history, uscc
    )


def test_a_self_found_hazard_counts_once_it_is_late(world: World) -> None:
    """The hazard that keeps its deadline is not held against the enterprise; the same hazard
    left open past its deadline is, as an open, overdue and found one."""
    uscc = str(world.tables["enterprises"]["uscc"].iloc[0])
    found = (AS_OF - pd.Timedelta(days=100)).date()

    def features(rectified: dt.date | None, due: dt.date) -> pd.Series:
        tables = {k: v.copy() for k, v in world.tables.items()}
        row = {
            "hazard_id": "SELF-1",
            "uscc": uscc,
            "found_on": found,
            "level": "general",
            "due_on": due,
            "rectified_on": rectified,
            "found_by": "enterprise",
        }
        tables["hazards"] = pd.concat([tables["hazards"], pd.DataFrame([row])], ignore_index=True)
        pair = pd.DataFrame({"uscc": [uscc], "as_of": [AS_OF]})
        return as_of(History.from_frames(tables), pair).iloc[0]

    plain = as_of(
        History.from_frames(world.tables), pd.DataFrame({"uscc": [uscc], "as_of": [AS_OF]})
    )
    base = plain.iloc[0]
    on_time = features(found + dt.timedelta(days=10), found + dt.timedelta(days=30))
    not_yet_due = features(None, (AS_OF + pd.Timedelta(days=5)).date())
    late = features(None, found + dt.timedelta(days=30))
    for name in ("haz_open_general", "haz_found_general_1y"):
        assert on_time[name] == base[name] and not_yet_due[name] == base[name]
        assert late[name] == base[name] + 1
    assert late["haz_overdue_general"] == base["haz_overdue_general"] + 1


def _with_due(one: pd.DataFrame, due: float, late: float) -> pd.DataFrame:
    out = one.copy()
    out["haz_due_1y"], out["haz_late_1y"] = float(due), float(late)
    return out


@SETTINGS
@given(row=st.integers(0, 100_000), due=st.integers(1, 200), share=st.floats(0, 1))
def test_nothing_due_reads_as_the_peers_not_as_perfect(
    trained: Trained,
    data,  # type: ignore[no-untyped-def]
    policy: ScoringPolicy,
    row: int,
    due: int,
    share: float,
) -> None:
    """An enterprise with no hidden danger due in the year scores, through its rectification
    record, exactly as one whose peers' share of those due was late — never as one that kept
    every deadline — and the shares that read as perfect when nothing was due are not read."""
    model = trained.model
    assert not {"haz_rectified_rate_1y", "haz_delay_median_1y", "haz_due_1y"} & set(model.features_)
    exposure = model.exposure_
    assert exposure is not None and exposure.models["haz_late_1y"].per == "haz_due_1y"
    X = data[0]
    one = X.iloc[[row % len(X)]]
    q = float(exposure.expected(_with_due(one, 1, 0))["haz_late_1y"][0])  # the peers' share
    assert 0 < q <= 1

    def score(due: float, late: float) -> int:
        return int(credit_score(model, policy, _with_due(one, due, late))[0])

    nothing = score(0, 0)
    assert nothing == score(due, q * due)  # as the peers
    assert score(due, 0) >= nothing >= score(due, due)  # every deadline kept is better
    late = round(share * due)
    assert score(due + 1, late) >= score(due, late)  # one more rectified on time never costs
    assert score(due + 1, late + 1) <= score(due, late)  # one more late never helps
    perfect = one.assign(haz_rectified_rate_1y=1.0, haz_delay_median_1y=0.0)
    worst = one.assign(haz_rectified_rate_1y=0.0, haz_delay_median_1y=365.0)
    assert credit_score(model, policy, perfect)[0] == credit_score(model, policy, worst)[0]
