"""Score books: a score or quote on a book's day is a lookup that answers exactly what the
computation answers; listings stay live; a new load retires the book."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from experiments.simulate import World, write_world
from features.ingest import ingest
from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import act, propose
from service.engine.books import Books, book_days
from service.engine.decisions import Scorer
from service.http.api.answers import score_output
from tests.service.conftest import AS_OF, END, PUBLISHED, Api

DECISION_ONLY = ("decision_id",)


def _books(api: Api) -> Books:
    """A book of AS_OF over the test's connection (built here, never in a thread), in use."""
    connection = api.session.connection()
    made = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    books = Books(made, [AS_OF.isoformat()], background=False)
    api.app.state.books = books
    return books


def _computed(api: Api, scorer: Scorer, uscc: str) -> dict[str, Any]:
    with api.session.begin_nested():
        return score_output(api.session, scorer, {"uscc": uscc, "as_of": AS_OF.isoformat()})


def _served(api: Api, uscc: str, token: str) -> dict[str, Any]:
    r = api.client.get(
        f"/v1/enterprises/{uscc}/score",
        params={"as_of": str(AS_OF)},
        headers=api.headers(token),
    )
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.json().items() if k not in DECISION_ONLY}


def test_a_book_answers_exactly_what_the_computation_answers(api: Api, scorer: Scorer) -> None:
    books = _books(api)
    book = books.build_now(scorer, AS_OF)
    assert api.province.listed in book.rows and len(book.rows) > 100
    token = api.key("regulator")
    codes = [api.province.listed, api.province.unlisted, *sorted(book.rows)[:: len(book.rows) // 8]]
    for uscc in codes:
        assert _served(api, uscc, token) == _computed(api, scorer, uscc), uscc
    assert books.served == len(codes)
    listed = _served(api, api.province.listed, token)
    assert listed["grade"] == "D" and listed["listings"][0]["entry_id"] == api.province.entry_id
    ready = api.client.get("/readyz").json()["books"]
    assert ready[AS_OF.isoformat()].startswith("ready:")
    # the ledger's replay recomputes the booked answer and finds it the same
    r = api.client.get(
        f"/v1/enterprises/{api.province.unlisted}/score",
        params={"as_of": str(AS_OF)},
        headers=api.headers(token),
    )
    replay = api.client.post(
        f"/v1/decisions/{r.json()['decision_id']}/replay", headers=api.headers(token)
    )
    assert replay.json()["reproduced"] is True, replay.text


def test_unknown_codes_and_other_days_are_computed_not_booked(api: Api, scorer: Scorer) -> None:
    books = _books(api)
    books.build_now(scorer, AS_OF)
    token = api.key("insurer")
    h = api.headers(token)
    never = "91350200MA31E12P0D"  # a well-formed code no enterprise has
    missing = api.client.get(
        f"/v1/enterprises/{never}/score", params={"as_of": str(AS_OF)}, headers=h
    )
    assert missing.status_code == 404 and never in missing.json()["detail"]
    other = api.client.get(
        f"/v1/enterprises/{api.province.unlisted}/score", params={"as_of": "2026-01-31"}, headers=h
    )
    assert other.status_code == 200 and books.served == 0


def test_listings_published_after_the_book_are_in_its_answers(api: Api, scorer: Scorer) -> None:
    books = _books(api)
    book = books.build_now(scorer, AS_OF)
    policy = find_policy("mem11")
    proposal = next(
        p for p in evaluate(api.session, policy=policy, as_of=END) if p.uscc != api.province.listed
    )
    assert proposal.uscc in book.rows
    token = api.key("regulator")
    before = _served(api, proposal.uscc, token)
    assert not before["listings"]
    who = {"actor": "reg-2", "department": proposal.department}
    with api.session.begin_nested():
        entry = propose(api.session, proposal=proposal, policy=policy, on=PUBLISHED[0], **who)
        for action, day in zip(("notify", "decide", "publish"), PUBLISHED[1:], strict=True):
            act(api.session, entry_id=entry.entry_id, action=action, on=day, reason=action, **who)
    after = _served(api, proposal.uscc, token)
    assert after["grade"] == "D" and after["listings"][0]["entry_id"] == entry.entry_id
    assert after == _computed(api, scorer, proposal.uscc) and books.served == 2


def test_a_new_load_retires_the_book(
    api: Api, scorer: Scorer, world: World, tmp_path: Path
) -> None:
    books = _books(api)
    books.build_now(scorer, AS_OF)
    uscc = api.province.unlisted
    token = api.key("regulator")
    _served(api, uscc, token)
    assert books.served == 1
    tables = dict(world.tables)
    enterprises = tables["enterprises"].copy()
    enterprises.loc[enterprises["uscc"] == uscc, "employees"] += 500
    tables["enterprises"] = enterprises
    write_world(dataclasses.replace(world, tables=tables), tmp_path, "csv")
    with api.session.begin_nested():
        report = ingest(api.session, tmp_path, known_on=dt.date(2026, 1, 10))
    assert report.load_id is not None
    after = _served(api, uscc, token)
    assert books.served == 1  # computed: the book was retired
    assert after == _computed(api, scorer, uscc)
    assert books.status()[AS_OF.isoformat()] == "not built yet"


@pytest.mark.parametrize(
    ("days", "today", "expected"),
    [
        (["today"], dt.date(2026, 5, 1), [dt.date(2026, 5, 1)]),
        (["2026-03-31", "today", "2026-03-31"], dt.date(2026, 3, 31), [dt.date(2026, 3, 31)]),
        ([], dt.date(2026, 5, 1), []),
    ],
)
def test_book_days_come_from_the_settings(
    days: list[str], today: dt.date, expected: list[dt.date]
) -> None:
    assert book_days(days, today) == expected


@pytest.mark.parametrize("api", ["sqlite"], indirect=True)  # the thread's life: one backend
def test_a_book_built_by_the_service_itself_is_used(
    api: Api, scorer: Scorer, tmp_path: Path
) -> None:
    """The app's own books: built in the background at start, then used (SQLite only: the
    background thread reads committed data through the app's engine)."""
    made = sessionmaker(bind=api.province.engine)
    books = Books(made, [AS_OF.isoformat()])
    books.start(scorer)
    deadline = dt.datetime.now() + dt.timedelta(seconds=120)
    while not books.status()[AS_OF.isoformat()].startswith("ready"):
        assert dt.datetime.now() < deadline, books.status()
        assert "not built" not in books.status()[AS_OF.isoformat()], books.status()
        time.sleep(0.2)
    with Session(api.province.engine) as session, session.begin():
        found = books.batch(session, scorer, as_of=AS_OF, usccs=[api.province.listed])
    assert found is not None and found.listings and books.served == 1


def test_a_quote_scores_from_the_book_and_replays(api: Api, scorer: Scorer) -> None:
    from models.tariff import load_tariff

    books = _books(api)
    books.build_now(scorer, AS_OF)
    h = api.headers(api.key("regulator"))
    body = {
        "uscc": api.province.listed,
        "insured_amount_cny": load_tariff().insurance.min_insured_amount_cny,
        "period_start": "2026-04-01",
        "as_of": str(AS_OF),
    }
    r = api.client.post("/v1/premiums/quotes", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert books.served == 1 and api.province.entry_id in r.json()["listings"]
    replay = api.client.post(f"/v1/decisions/{r.json()['decision_id']}/replay", headers=h)
    assert replay.json()["reproduced"] is True, replay.text


def test_quotes_from_the_book_are_the_quotes_computed_and_read_no_records(
    api: Api, scorer: Scorer, world: World
) -> None:
    """A quote on a book's day takes the enterprise record and the accident experience from the
    book, as known on the day, and prices exactly what reading them now would price."""
    from models.tariff import load_tariff, tariffs
    from service.engine.quotes import Quoter, QuoteRequest, quote

    books = _books(api)
    book = books.build_now(scorer, AS_OF)
    accidents = world.tables["accidents"]
    recent = accidents[accidents["occurred_on"] >= "2025-01-01"]["uscc"]
    codes = sorted({*recent.iloc[:10], *sorted(book.rows)[:: len(book.rows) // 6]})
    assert set(recent) & set(codes) and len(codes) > 8
    minimum = load_tariff().insurance.min_insured_amount_cny
    requests = [
        QuoteRequest(uscc=u, insured_amount_cny=minimum, period_start=start, as_of=AS_OF)
        for u in codes
        for start in (AS_OF + dt.timedelta(days=1), dt.date(2026, 8, 31), dt.date(2027, 3, 31))
    ]
    read: list[str] = []

    def statement(_conn, _cursor, sql: str, *_: Any) -> None:  # type: ignore[no-untyped-def]
        read.append(sql)

    for name in tariffs():
        quoter = Quoter(scorer, load_tariff(name))
        with api.session.begin_nested():
            computed = quote(api.session, quoter, requests)
        event.listen(api.province.engine, "before_cursor_execute", statement)
        try:
            with api.session.begin_nested():
                served = quote(api.session, quoter, requests, books=books)
        finally:
            event.remove(api.province.engine, "before_cursor_execute", statement)
        assert [q.as_dict() for q in served] == [q.as_dict() for q in computed]
        experience = [f for q in served for f in q.factors if f.code == "accident_experience"]
        assert any(f.multiplier != 1 for f in experience), "some should have had accidents"
    assert books.served == len(tariffs()) * 3  # one batch per period start
    assert read and not [s for s in read if "enterprises" in s or "accidents" in s]
