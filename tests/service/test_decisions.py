"""Score decisions: the model's grade, then the policy's overrides — a listing in force forces
D, a 较大-or-graver accident in the last 12 months caps at C — with the listing as evidence."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from experiments.simulate import World
from features.catalogue import CATALOGUE_VERSION
from features.grades import accident_grades
from service.engine.decisions import Scorer, frame, score, score_batch
from tests.service.conftest import PUBLISHED, publish_first

END = dt.date(2025, 12, 31)


def _publish(session: Session) -> str:
    with session.begin_nested():
        proposal, _ = publish_first(session, on=PUBLISHED)
    return proposal.uscc


def test_a_listing_in_force_forces_grade_d_and_is_shown(
    loaded_session: Session, scorer: Scorer
) -> None:
    uscc = _publish(loaded_session)
    before, after = (
        score(loaded_session, scorer, as_of=day, usccs=[uscc])[0]
        for day in (dt.date(2026, 2, 4), dt.date(2026, 3, 31))
    )
    assert not before.listings and before.grade == before.model_grade
    assert after.grade == "D" and [o.code for o in after.overrides][-1] == "listed"
    assert after.listings[0].uscc == uscc and after.listings[0].published_on == dt.date(2026, 2, 5)
    assert "joint-punishment list" in after.recourse_note["en"]


def test_a_grave_accident_in_the_last_year_caps_the_grade_at_c(
    loaded_session: Session, scorer: Scorer, world: World
) -> None:
    accidents = world.tables["accidents"]
    grave = accidents[accident_grades(accidents).cat.codes >= 1]
    recent = grave[grave["occurred_on"] > "2025-01-01"]
    assert len(recent), "the simulated province should have a 较大 accident in 2025"
    uscc = recent["uscc"].iloc[0]
    decision = score(loaded_session, scorer, as_of=END, usccs=[uscc])[0]
    assert decision.grade in ("C", "D")
    if decision.model_grade in ("A", "B"):
        assert decision.overrides[0].code == "grave_accident"


def test_a_batch_names_its_versions_and_every_enterprise(
    loaded_session: Session, scorer: Scorer, world: World
) -> None:
    batch = score_batch(loaded_session, scorer, as_of=END)
    table = frame(scorer, batch)
    assert set(table["uscc"]) == set(world.tables["enterprises"]["uscc"])
    assert table["grade"].isin(list("ABCD")).all()
    assert (table["model_version"] == "test").all()
    assert (table["catalogue_version"] == CATALOGUE_VERSION).all()
    # the flat batch agrees with the one-by-one decisions the service gives
    few = table.sample(25, random_state=1)
    one_by_one = score(loaded_session, scorer, as_of=END, usccs=list(few["uscc"]))
    for (_, row), decision in zip(few.iterrows(), one_by_one, strict=True):
        assert (row["score"], row["grade"]) == (decision.score, decision.grade)
        reasons = decision.reasons
        assert row["reason1_feature"] == (reasons[0]["feature"] if reasons else "")
        best = decision.recourse[0] if decision.recourse else None
        assert row["recourse1_points"] == (best["points"] if best else 0)
