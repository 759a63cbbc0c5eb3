"""The sealed hash chain of registry actions: verify names every edited (in any column),
deleted, reordered, re-hashed or garbled row, a cut tail, a forged head, and every entry
edited, deleted, forged or given a wrong version; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from itertools import pairwise

import pytest
from sqlalchemy import delete, insert, select, text, update

from registry import chain, seal
from registry.chain import ENTRY_FIELDS, row_hash, take_checkpoint, verify
from registry.evaluate import evaluate
from registry.procedure import act, propose
from registry.seal import SealError
from registry.tables import Action, ChainHead, Entry
from tests.registry.conftest import D

DEPT = "太原市应急管理局"


def _some_actions(session, history, mem11, n_entries=2):
    for _ in range(n_entries):
        uscc = history.enterprise()
        pid = history.penalty(uscc, D(2024, 2, 1))
        history.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
        (p,) = evaluate(session, policy=mem11, as_of=D(2024, 2, 2), usccs=[uscc])
        e = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 2, 2))
        act(
            session,
            entry_id=e.entry_id,
            action="notify",
            actor="r",
            department=DEPT,
            on=D(2024, 2, 5),
            reason="notice",
        )
    return _rows(session)


def _rows(session):
    session.expire_all()
    return list(session.scalars(select(Action).order_by(Action.chain_seq)))


def _named(session, **kw):
    session.expire_all()
    return {(p.chain_seq, p.kind) for p in verify(session, **kw).problems}


def _set(session, row, **values):
    session.execute(
        update(Action)
        .where(Action.action_id == row.action_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def test_untouched_chain_verifies(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    report = verify(session)
    assert report.ok, report.problems
    assert report.length == rows[-1].chain_seq and report.head_hash == rows[-1].hash
    assert all(b.prev_hash == a.hash for a, b in pairwise(rows))
    assert all(r.seal == seal.current().seal("registry", r.chain_seq, r.hash) for r in rows)


EDITS = {
    "entry_id": None,  # another entry's id: set in the test
    "seq": 7,
    "action": "publish",
    "acted_on": D(2020, 1, 1),
    "actor": "someone",
    "department": "另一部门",
    "reason": "nothing happened",
    "details": {"forged": True},
    "recorded_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    "prev_hash": "f" * 64,
    "hash": "e" * 64,
}


@pytest.mark.parametrize("column", sorted(EDITS))
def test_a_row_edited_in_any_column_is_named(session, history, mem11, column):
    rows = _some_actions(session, history, mem11)
    target = rows[-2]
    edit = {column: EDITS[column]}
    if column == "entry_id":  # moved to another entry, as its third step ((entry, seq) is unique)
        edit = {"entry_id": rows[0].entry_id, "seq": 3}
    _set(session, target, **edit)
    assert (target.chain_seq, "edited") in _named(session)


def test_a_moved_row_and_a_bad_seal_are_named(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    seq = rows[1].chain_seq
    _set(session, rows[1], chain_seq=10_000)
    assert {(seq, "deleted"), (10_000, "edited")} <= _named(session)
    _set(session, rows[1], chain_seq=seq, seal="0" * 64)
    assert _named(session) == {(seq, "rehashed")}


def test_deleted_row_is_named(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    gone = rows[-1]  # a notify: its entry's version no longer counts its actions either
    session.execute(delete(Action).where(Action.action_id == gone.action_id))
    problems = verify(session).problems
    assert {(p.kind, p.row) for p in problems} >= {
        ("head", "head"),
        ("entry_version", f"entry {gone.entry_id}"),
    }
    middle = rows[1]
    session.execute(delete(Action).where(Action.action_id == middle.action_id))
    assert (middle.chain_seq, "deleted") in _named(session)


def test_reordered_rows_are_named(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    (a, a_seq), (b, b_seq) = ((r.action_id, r.chain_seq) for r in rows[-2:])
    # swap their positions in the chain (through a free number, the column is unique)
    for action_id, seq in ((a, -1), (b, a_seq), (a, b_seq)):
        session.execute(
            update(Action)
            .where(Action.action_id == action_id)
            .values(chain_seq=seq)
            .execution_options(synchronize_session=False)
        )
    kinds = {p.kind for p in verify(session).problems}
    assert "reordered" in kinds


def test_a_chain_rehashed_without_the_key_is_named_row_by_row(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    first = rows[1]
    first.reason = "rewritten"
    prev = rows[0].hash
    for r in rows[1:]:  # what someone with the database but not the key file can do
        r.prev_hash = prev
        r.hash = prev = row_hash(r)
    session.flush()
    session.execute(update(ChainHead).values(head_hash=prev))
    named = _named(session)
    assert {(r.chain_seq, "rehashed") for r in rows[1:]} <= named
    assert (None, "signature") in named
    assert not {kind for _, kind in named} - {"rehashed", "signature"}


def test_a_cut_tail_with_the_head_fixed_fails_its_signature(session, history, mem11):
    rows = _some_actions(session, history, mem11, n_entries=1)
    session.execute(delete(Action).where(Action.action_id == rows[-1].action_id))
    session.execute(update(Entry).values(version=1))
    session.execute(update(ChainHead).values(length=rows[-2].chain_seq, head_hash=rows[-2].hash))
    assert _named(session) == {(None, "signature")}


def test_a_checkpoint_names_a_tail_cut_behind_an_old_signed_head(session, history, mem11):
    rows = _some_actions(session, history, mem11, n_entries=1)
    old_head = session.execute(select(ChainHead.__table__)).mappings().one()
    act(
        session,
        entry_id=rows[0].entry_id,
        action="decide",
        actor="r",
        department=DEPT,
        on=D(2024, 3, 1),
        reason="decided",
    )
    document = json.loads(json.dumps(take_checkpoint(session)))  # as a file would hold it
    assert verify(session, checkpoints={"cp.json": document}).ok
    last = _rows(session)[-1]
    session.execute(delete(Action).where(Action.action_id == last.action_id))
    session.execute(update(Entry).values(version=2))
    session.execute(update(ChainHead).values(**old_head))  # a genuinely signed, older head
    assert verify(session).ok  # the database alone cannot tell
    found = verify(session, checkpoints={"cp.json": document}).problems
    assert [(p.chain_seq, p.kind, p.row) for p in found] == [
        (last.chain_seq, "truncated", "checkpoint cp.json")
    ]


def test_checkpoints_altered_or_of_another_chain_are_named(session, history, mem11):
    _some_actions(session, history, mem11, n_entries=1)
    good = take_checkpoint(session)
    other = seal.Sealer.from_secret(b"\x01" * 32)
    foreign = chain.checkpoint("registry", good["length"], good["head_hash"], other)
    given = {
        "longer": {**good, "length": good["length"] - 1},
        "ledger": {**good, "chain": "ledger"},
        "foreign": foreign,
        "garbage": ["not", "a", "checkpoint"],
        "none": None,
    }
    found = {p.row: p.kind for p in verify(session, checkpoints=given).problems}
    assert found == {f"checkpoint {n}": "checkpoint" for n in given}


def test_a_rewritten_row_fails_a_checkpoint_taken_before(session, history, mem11):
    rows = _some_actions(session, history, mem11, n_entries=1)
    document = take_checkpoint(session)
    _set(session, rows[-1], hash="a" * 64)
    assert (rows[-1].chain_seq, "checkpoint") in _named(session, checkpoints={"c": document})


@pytest.mark.parametrize("column", [*ENTRY_FIELDS, "version"])
def test_an_entry_edited_in_any_column_is_named(session, history, mem11, column):
    rows = _some_actions(session, history, mem11, n_entries=1)
    propose_row = rows[0]
    value = {
        "evidence": [],
        "grounds": [],
        "persons": [{"role": "x", "name": "y"}],
        "event_on": D(2020, 1, 1),
        "evaluated_as_of": D(2020, 1, 1),
        "version": 9,
    }.get(column, "edited")
    session.execute(update(Entry).values(**{column: value}))
    problems = verify(session).problems
    kind = "entry_version" if column == "version" else "entry_edited"
    assert [(p.kind, p.row) for p in problems] == [(kind, f"entry {propose_row.entry_id}")]
    if column != "version":
        assert problems[0].chain_seq == propose_row.chain_seq and column in problems[0].detail


def _without_foreign_keys(session):
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
    else:
        session.execute(text("SET LOCAL session_replication_role = replica"))


def test_a_deleted_entry_and_a_forged_one_are_named(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    _without_foreign_keys(session)
    gone = rows[0].entry_id
    session.execute(delete(Entry).where(Entry.entry_id == gone))
    values = session.execute(select(Entry.__table__).where(Entry.entry_id == rows[-1].entry_id))
    forged = {**values.mappings().one(), "entry_id": "f" * 32, "identity": "f" * 64}
    session.execute(insert(Entry), [forged])
    problems = {(p.chain_seq, p.kind, p.row) for p in verify(session).problems}
    assert problems == {
        (rows[0].chain_seq, "entry_deleted", f"entry {gone}"),
        (None, "entry_unproposed", f"entry {'f' * 32}"),
        (None, "entry_version", f"entry {'f' * 32}"),
    }


def _garble(session, table, key, where, **columns):
    """Store what the column's type would refuse (SQLite keeps anything; on PostgreSQL the
    column loses its type or its NOT NULL first, as an administrator could)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for column, value in columns.items():
        if postgres:
            session.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL"))
            session.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text"))
            value = None if value == "NULL" else value
        elif value == "NULL":  # SQLite refuses NULL in a NOT NULL column: a non-date instead
            value = "neither"
        session.execute(
            text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), {"v": value, "k": where}
        )


def test_garbled_rows_are_named_not_a_crash(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    target = rows[1]
    _garble(
        session,
        "registry_actions",
        "action_id",
        target.action_id,
        recorded_at="yesterday",
        details="{not json",
        acted_on="NULL",
    )
    _garble(session, "registry_entries", "entry_id", rows[-1].entry_id, event_on="someday")
    problems = verify(session).problems
    garbled = [p for p in problems if p.kind == "garbled"]
    assert [(p.chain_seq, p.row) for p in garbled] == [
        (target.chain_seq, f"action {target.action_id}"),
        (None, f"entry {rows[-1].entry_id}"),
    ]
    assert all(c in garbled[0].detail for c in ("recorded_at", "details", "acted_on"))
    _garble(session, "registry_chain", "chain_id", 1, length="many")  # the head garbled too
    assert (None, "garbled") in {(p.chain_seq, p.kind) for p in verify(session).problems}


def test_recorded_at_is_the_server_s_under_the_lock_and_never_goes_back(session, history, mem11):
    rows = _some_actions(session, history, mem11, n_entries=1)
    head = session.get(ChainHead, chain.CHAIN_ID)
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # e.g. another server's clock
    signed = chain.signed_head(
        seal.current(), head.length, head.head_hash, ahead, head.legacy_length
    )
    session.execute(update(ChainHead).values(**signed))
    row = act(
        session,
        entry_id=rows[0].entry_id,
        action="decide",
        actor="r",
        department=DEPT,
        on=D(2024, 3, 1),
        reason="decided",
    )
    assert chain.aware(row.recorded_at) == ahead
    times = [chain.aware(r.recorded_at) for r in _rows(session)]
    assert times == sorted(times)
    assert verify(session).ok
    # a row recorded before the row before it (by someone with the key) is named too
    _, last = _rows(session)[-2:]
    early = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    last.recorded_at = early
    last.hash = row_hash(last)
    last.seal = seal.current().seal("registry", last.chain_seq, last.hash)
    session.flush()
    signed = chain.signed_head(seal.current(), last.chain_seq, last.hash, early, 0)
    session.execute(update(ChainHead).values(**signed))
    assert _named(session) == {(last.chain_seq, "time")}


def test_append_refuses_a_key_that_is_not_the_chain_s(session, history, mem11):
    _some_actions(session, history, mem11, n_entries=1)
    mine = seal.current()
    seal.use(seal.Sealer.from_secret(b"\x02" * 32))
    try:
        with pytest.raises(SealError, match="restore the chain's key"):
            _some_actions(session, history, mem11, n_entries=1)
        assert (None, "key") in _named(session)
    finally:
        seal.use(mine)
