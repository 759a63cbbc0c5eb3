"""Inspection and prevention plans on hand-built candidates: capacity and random share
respected, the same seed gives the same plan, the ranking is by accidents prevented, and the
prevention plan stays within its budget."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.plans import (
    PlanError,
    after_gain,
    expected_accidents,
    inspection_plan,
    load_plan_policy,
    prevention_plan,
)

POLICY = load_plan_policy()
FACTOR = 20 / math.log(2)  # 20 points double the odds


def _candidates(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)  # inputs of the test, not results
    return pd.DataFrame(
        {
            "uscc": [f"U{i:04d}" for i in range(n)],
            "grade": rng.choice(list("ABCD"), n),
            "probability": rng.uniform(0.005, 0.4, n),
            "gain": rng.choice([0.0, 10.0, 40.0], n),
        }
    )


def test_gain_arithmetic_by_hand() -> None:
    # 20 points halve the odds: p 0.5 (odds 1) becomes odds 1/2, p 1/3
    assert after_gain(np.array([0.5]), np.array([20.0]), FACTOR)[0] == pytest.approx(1 / 3)
    assert expected_accidents(np.array([1 - math.exp(-2)]))[0] == pytest.approx(2.0)


@pytest.mark.parametrize(("capacity", "share"), [(10, 0.0), (10, 0.3), (25, 1.0), (1, 0.5)])
def test_capacity_and_random_share_are_respected(capacity: int, share: float) -> None:
    plan = inspection_plan(
        _candidates(), POLICY, capacity=capacity, random_share=share, seed=1, factor=FACTOR
    )
    assert len(plan) == capacity and plan["uscc"].is_unique
    assert (plan["picked"] == "random").sum() == round(capacity * share)
    assert list(plan["rank"]) == list(range(1, capacity + 1))
    assert all(
        ("random" in w) == (p == "random") for w, p in zip(plan["why"], plan["picked"], strict=True)
    )


def test_ranked_part_is_the_top_by_prevented() -> None:
    c = _candidates()
    plan = inspection_plan(c, POLICY, capacity=20, random_share=0.0, seed=0, factor=FACTOR)
    e = expected_accidents(c["probability"].to_numpy())
    after = expected_accidents(
        after_gain(c["probability"].to_numpy(), c["gain"].to_numpy(), FACTOR)
    )
    b = POLICY.inspection.base_effect
    prevented = pd.Series(b * e + (1 - b) * (e - after), index=c["uscc"])
    assert set(plan["uscc"]) == set(prevented.nlargest(20).index)
    assert plan["prevented"].is_monotonic_decreasing


def test_same_seed_same_plan_other_seed_other_draw() -> None:
    c = _candidates()
    one = inspection_plan(c, POLICY, capacity=30, random_share=0.5, seed=7, factor=FACTOR)
    shuffled = c.sample(frac=1.0, random_state=3)  # the order of the candidates does not matter
    two = inspection_plan(shuffled, POLICY, capacity=30, random_share=0.5, seed=7, factor=FACTOR)
    pd.testing.assert_frame_equal(one, two)
    other = inspection_plan(c, POLICY, capacity=30, random_share=0.5, seed=8, factor=FACTOR)
    assert set(one["uscc"]) != set(other["uscc"])


def test_random_draw_favours_worse_grades() -> None:
    c = _candidates(2000).assign(gain=0.0, probability=0.1)
    drawn = inspection_plan(c, POLICY, capacity=400, random_share=1.0, seed=2, factor=FACTOR)
    share = drawn["grade"].value_counts(normalize=True)
    assert share["D"] > share["C"] > share["B"] > share["A"] > 0


def test_bad_plans_refused() -> None:
    with pytest.raises(PlanError, match="random share"):
        inspection_plan(_candidates(), POLICY, capacity=5, random_share=1.5, seed=0, factor=FACTOR)
    with pytest.raises(PlanError, match="capacity"):
        inspection_plan(_candidates(), POLICY, capacity=0, random_share=0, seed=0, factor=FACTOR)


def test_prevention_plan_stays_within_budget() -> None:
    c = _candidates(100).assign(premium_cny=20_000.0)
    plan, summary = prevention_plan(c, POLICY, capacity=50, factor=FACTOR)
    pv = POLICY.prevention
    budget = 100 * 20_000 * pv.budget_share
    assert summary["budget_cny"] == pytest.approx(budget)
    assert len(plan) == min(50, int(budget // pv.service_cost_cny), int((c["gain"] > 0).sum()))
    assert summary["cost_cny"] <= budget
    assert (plan["loss_avoided_cny"] > 0).all() and plan["loss_avoided_cny"].is_monotonic_decreasing
    row = plan.iloc[0]
    e, a = (
        expected_accidents(np.array([row["probability"]]))[0],
        expected_accidents(
            after_gain(np.array([row["probability"]]), np.array([row["gain"]]), FACTOR)
        )[0],
    )
    assert row["loss_avoided_cny"] == pytest.approx(
        20_000 * pv.expected_loss_ratio * pv.effect * (e - a) / e
    )
