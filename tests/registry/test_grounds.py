"""One penalty decision, one entry: every rule its conduct meets is a ground of that entry; a
store from before revision 0004 keeps its entries and actions; a deleted entry row neither
crashes a check nor clears the enterprise."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from registry.chain import verify
from registry.check import check
from registry.errors import ConflictError
from registry.evaluate import evaluate
from registry.procedure import act, actions_of, propose
from registry.tables import Entry
from service.store.db import make_engine, upgrade
from tests.registry.conftest import D
from tests.registry.test_chain import _without_foreign_keys

DEPT = "太原市应急管理局"


def _three_rules(history):
    """An accident with 12 deaths, concealed, the principal fled: S1, S4 and S5 at once, all
    under one penalty decision."""
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 3, 1))
    history.accident(
        uscc, D(2024, 2, 1), deaths=12, penalty=pid, reporting="concealed", principal_fled=True
    )
    return uscc, pid


def test_a_penalty_meeting_three_rules_makes_one_entry(session, history, mem11):
    uscc, pid = _three_rules(history)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 3, 5), usccs=[uscc])
    assert [g.rule for g in p.grounds] == ["S1", "S4", "S5"]
    assert p.rule == "S1" and p.penalty_decision_id == pid
    assert p.summary.startswith("S1, S4, S5 (accidents A-")
    entry = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 3, 5))
    assert [g["rule"] for g in entry.grounds] == ["S1", "S4", "S5"]
    assert evaluate(session, policy=mem11, as_of=D(2024, 6, 1), usccs=[uscc]) == []
    with pytest.raises(ConflictError, match=f"penalty decision {pid}"):
        propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 3, 5))
    say = dict(entry_id=entry.entry_id, actor="r", department=DEPT, reason="step")
    act(session, action="notify", on=D(2024, 3, 6), **say)
    act(session, action="decide", on=D(2024, 4, 1), **say)
    act(session, action="publish", on=D(2024, 4, 2), **say)
    (result,) = check(session, usccs=[uscc], domain="bidding", as_of=D(2024, 5, 1))
    (item,) = result.entries  # one entry, not three procedures
    assert [g.rule for g in item.grounds] == ["S1", "S4", "S5"]
    assert all(g.title and g.evidence for g in item.grounds)
    assert item.term_ends_on == D(2027, 4, 2)  # the list's one term


def test_a_deleted_entry_row_still_restricts_and_is_named(session, history, mem11):
    uscc, _ = _three_rules(history)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 3, 5), usccs=[uscc])
    entry = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 3, 5))
    say = dict(entry_id=entry.entry_id, actor="r", department=DEPT, reason="step")
    for action, day in (("notify", D(2024, 3, 6)), ("decide", D(2024, 4, 1))):
        act(session, action=action, on=day, **say)
    act(session, action="publish", on=D(2024, 4, 2), **say)
    assert len(actions_of(session, entry_id=entry.entry_id)) == 4
    _without_foreign_keys(session)
    session.execute(delete(Entry).where(Entry.entry_id == entry.entry_id))
    (result,) = check(session, usccs=[uscc], domain="bidding", as_of=D(2024, 5, 1))
    assert result.status == "restricted"  # the chain, not the table, says what was listed
    assert result.entries[0].entry_id == entry.entry_id
    report = verify(session)
    assert not report.ok and entry.entry_id in " ".join(str(p) for p in report.problems)


def test_an_old_store_keeps_its_entries_and_gets_their_grounds(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    with engine.begin() as c:
        for entry_id, rule in (("e1", "S1"), ("e2", "S4")):  # one penalty, two old entries
            c.execute(
                text(
                    "INSERT INTO registry_entries VALUES (:id, :identity, 'serious_dishonesty', "
                    "'mem11', '2023.10', 'x', :rule, '911', 'n', 'd', 'P1', "
                    """'[{"table": "accidents", "id": "A1"}]', '[]', '2024-01-01', """
                    "'2024-01-01', 1)"
                ),
                {"id": entry_id, "identity": f"old-{entry_id}", "rule": rule},
            )
    upgrade(engine, "0004")
    with Session(engine) as s:
        grounds = dict(s.execute(select(Entry.entry_id, Entry.grounds)).all())
    engine.dispose()
    assert grounds == {
        e: [
            {
                "rule": rule,
                "evidence": [{"table": "accidents", "id": "A1"}],
                "event_on": "2024-01-01",
            }
        ]
        for e, rule in (("e1", "S1"), ("e2", "S4"))
    }


def test_old_entries_of_a_penalty_are_not_proposed_again(session, history, mem11):
    uscc, _ = _three_rules(history)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 3, 5), usccs=[uscc])
    old = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 3, 5))
    old.identity = "an identity made before one entry per penalty decision"
    session.flush()
    assert evaluate(session, policy=mem11, as_of=dt.date(2024, 6, 1), usccs=[uscc]) == []
