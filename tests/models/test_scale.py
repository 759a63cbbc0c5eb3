"""Scaling laws: doubling the good:bad odds adds exactly PDO points; points add up to the score."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.policy import PolicyFileError, load_policy
from models.scale import points, probability_from_score, score_from_logit, score_from_probability

POLICY = load_policy()
SCALE = POLICY.scale
probabilities = st.floats(min_value=1e-6, max_value=0.999, allow_nan=False)


@given(probabilities)
def test_doubling_the_good_bad_odds_adds_exactly_pdo_points(p: float) -> None:
    odds = (1 - p) / p
    doubled = 1 / (1 + 2 * odds)  # probability whose good:bad odds are twice p's
    gained = score_from_probability(np.array([doubled]), SCALE) - score_from_probability(
        np.array([p]), SCALE
    )
    assert gained[0] == pytest.approx(SCALE.pdo, rel=1e-6)


def test_the_base_odds_score_the_base_score() -> None:
    p = 1 / (1 + SCALE.base_odds)
    assert score_from_probability(np.array([p]), SCALE)[0] == pytest.approx(SCALE.base_score)


@given(st.lists(st.floats(-3, 3), min_size=1, max_size=12), st.floats(-6, 2))
def test_points_add_up_to_the_score(contributions: list[float], bias: float) -> None:
    c = np.array(contributions)
    total = score_from_logit(np.array([bias + c.sum()]), SCALE)[0]
    base = score_from_logit(np.array([bias]), SCALE)[0]
    assert base + points(c, SCALE).sum() == pytest.approx(total, rel=1e-9, abs=1e-9)


@given(probabilities)
def test_score_and_probability_are_inverse(p: float) -> None:
    score = score_from_probability(np.array([p]), SCALE)
    assert probability_from_score(score, SCALE)[0] == pytest.approx(p, rel=1e-6)


def test_grades_follow_the_cut_offs() -> None:
    cuts = {g.grade: g.min_score for g in POLICY.grades}
    assert POLICY.grade(cuts["A"]) == "A"
    assert POLICY.grade(cuts["A"] - 1) == "B"
    assert POLICY.grade(cuts["C"]) == "C"
    assert POLICY.grade(SCALE.min_score) == "D"
    assert SCALE.factor == pytest.approx(SCALE.pdo / math.log(2))


def test_a_malformed_policy_is_refused_with_the_field(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "models/policies/score-2025.1.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("pdo = 60", "pdo = -60"))
    with pytest.raises(PolicyFileError, match=r"bad\.toml: scale\.pdo"):
        load_policy(bad)
    bad.write_text(text.replace('grade = "B"\nmin_score = 620', 'grade = "B"\nmin_score = 800'))
    with pytest.raises(PolicyFileError, match="cut-offs must fall"):
        load_policy(bad)
