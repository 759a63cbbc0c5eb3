"""One decision, one grade: a listed enterprise and one whose grade a grave accident caps have
the same final grade and score on every surface — the score over the API and in a batch, a quote
over the API (one and a book) and as the command line computes it, the page, and the rows the
Spark engine writes."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from features.pit import as_of as features_as_of
from features.store import read_history
from models.tariff import load_tariff
from registry.index import index_for
from service.engine.decisions import Scorer, frame, grave_accidents, score_batch
from service.engine.quotes import Quoter, QuoteRequest, quote
from service.engine.quotes import frame as quote_frame
from service.engine.spark_batch import GRAVE, scored_frame
from tests.service.conftest import AS_OF, Api

START = "2026-04-01"


def _capped(session: Session, scorer: Scorer) -> str | None:
    """An enterprise whose model grade is above the grave-accident cap and has such an accident,
    or None when the province has none."""
    history = read_history(session)
    usccs = list(history.table_at("enterprises", AS_OF)["uscc"])
    months = scorer.policy.overrides.larger_accident_months
    grave = sorted(grave_accidents(history, usccs, AS_OF, months))
    if not grave:
        return None
    batch = score_batch(session, scorer, as_of=AS_OF, usccs=grave, history=history)
    cap = scorer.policy.overrides.larger_accident_cap
    above = [u for u, g in zip(grave, batch.scored.grade, strict=True) if g < cap]
    return above[0] if above else grave[0]


def _surfaces(api: Api, scorer: Scorer, uscc: str) -> dict[str, tuple[int, str]]:
    """(score, grade) of ``uscc`` as each surface shows it."""
    regulator = api.headers(api.key("regulator"))
    insurer = api.headers(api.key("insurer"))
    seen: dict[str, tuple[int, str]] = {}
    r = api.client.get(f"/v1/enterprises/{uscc}/score?as_of={AS_OF}", headers=regulator)
    assert r.status_code == 200, r.text
    seen["api score"] = (r.json()["score"], r.json()["grade"])
    session = api.session
    batch = frame(scorer, score_batch(session, scorer, as_of=AS_OF, usccs=[uscc]))
    seen["batch score"] = (int(batch["score"].iloc[0]), str(batch["grade"].iloc[0]))
    amount = load_tariff().insurance.min_insured_amount_cny
    body = {"uscc": uscc, "insured_amount_cny": amount, "period_start": START, "as_of": str(AS_OF)}
    r = api.client.post("/v1/premiums/quotes", json=body, headers=insurer)
    assert r.status_code == 200, r.text
    seen["api quote"] = (r.json()["score"], r.json()["grade"])
    r = api.client.post("/v1/premiums/quotes/batch", json={"quotes": [body]}, headers=insurer)
    assert r.status_code == 200, r.text
    one = r.json()["quotes"][0]
    seen["api book"] = (one["score"], one["grade"])
    request = QuoteRequest(
        uscc=uscc,
        period_start=pd.Timestamp(START).date(),
        as_of=AS_OF,
        insured_amount_cny=amount,
    )
    (q,) = quote(session, Quoter(scorer, load_tariff()), [request])  # what `quote` runs
    seen["command-line quote"] = (q.score, q.grade)
    row = quote_frame([q]).iloc[0]  # what `quote --book` writes
    seen["command-line book"] = (int(row["score"]), str(row["grade"]))
    page = api.client.get(f"/enterprises/{uscc}?as_of={AS_OF}&lang=en", headers=regulator)
    assert page.status_code == 200, page.text
    score = re.search(r'id="score">(\d+)<', page.text)
    grade = re.search(r'id="grade"><span class="g">([ABCD])<', page.text)
    assert score and grade, page.text[:2000]
    seen["page"] = (int(score.group(1)), grade.group(1))
    history = read_history(session, usccs=[uscc])
    X = features_as_of(history, pd.DataFrame({"uscc": [uscc], "as_of": pd.Timestamp(AS_OF)}))
    part = X.assign(industry=X["industry"].astype(object))
    part.insert(0, "uscc", [uscc])
    months = scorer.policy.overrides.larger_accident_months
    part[GRAVE] = [uscc in grave_accidents(history, [uscc], AS_OF, months)]
    listings = index_for(session).snapshot([AS_OF])
    spark = scored_frame(scorer, part, AS_OF, listings)  # each Spark batch runs this
    seen["spark rows"] = (int(spark["score"].iloc[0]), str(spark["grade"].iloc[0]))
    return seen


def _same_everywhere(seen: dict[str, tuple[int, str]]) -> tuple[int, str]:
    first = next(iter(seen.values()))
    assert all(v == first for v in seen.values()), seen
    return first


def test_a_listed_enterprise_has_one_grade_and_score_everywhere(api: Api, scorer: Scorer) -> None:
    seen = _surfaces(api, scorer, api.province.listed)
    score, grade = _same_everywhere(seen)
    assert grade == scorer.policy.overrides.listed_grade
    low, high = scorer.policy.score_range(grade)
    assert low <= score <= high


def test_a_capped_enterprise_has_one_grade_and_score_everywhere(api: Api, scorer: Scorer) -> None:
    uscc = _capped(api.session, scorer)
    if uscc is None:
        pytest.fail("the simulated province has no grave accident in the 12 months before")
    score, grade = _same_everywhere(_surfaces(api, scorer, uscc))
    cap = scorer.policy.overrides.larger_accident_cap
    assert grade >= cap  # at most the cap: C or D
    low, high = scorer.policy.score_range(grade)
    assert low <= score <= high
