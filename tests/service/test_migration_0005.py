"""Revision 0005 on a store with rows: every action and decision kept and sealed, the chains
verify afterwards (legacy actions recorded out of order included); a registry chain already
broken is refused, not sealed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.chain import canonical_values, verify
from registry.hashchain import content_hash
from service.engine import ledger, ledger_chain
from service.store.db import make_engine, upgrade


def _store_at_0004(path, *, broken: bool = False):
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "0004")
    prev = "0" * 64
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO registry_entries VALUES ('e1', 'id1', 'serious_dishonesty', 'mem11', "
                "'2023.10', 'x', 'S6', '911', 'n', 'd', 'P1', '[]', '[]', '2024-01-01', "
                "'2024-01-01', 2, '[]')"
            )
        )
        for i in (1, 2):
            at = dt.datetime(2024, 1, 3 - i, tzinfo=dt.UTC)  # recorded out of order, as before
            v = dict(
                chain_seq=i,
                entry_id="e1",
                seq=i,
                action="propose" if i == 1 else "notify",
                acted_on=dt.date(2024, 1, i),
                actor="a",
                department="d",
                reason="r",
                details={},
                recorded_at=at,
                prev_hash=prev,
            )
            h = content_hash(canonical_values(v), prev)
            c.execute(
                text(
                    "INSERT INTO registry_actions (chain_seq, entry_id, seq, action, acted_on, "
                    "actor, department, reason, details, recorded_at, prev_hash, hash) VALUES "
                    "(:chain_seq, :entry_id, :seq, :action, :acted_on, :actor, :department, "
                    ":reason, '{}', :at, :prev_hash, :h)"
                ),
                {**v, "h": h, "at": at.replace(tzinfo=None).isoformat(sep=" ")},
            )
            prev = h
        c.execute(text("UPDATE registry_chain SET length = 2, head_hash = :h"), {"h": prev})
        if broken:
            c.execute(text("UPDATE registry_actions SET reason = 'edited' WHERE chain_seq = 1"))
        for n in (2, 1):
            c.execute(
                text(
                    "INSERT INTO decisions VALUES (:id, 'check', NULL, NULL, :at, :inputs, :sha, "
                    "'{}', '{}', '[]')"
                ),
                {
                    "id": f"d{n}",
                    "at": f"2024-01-0{n} 00:00:00.000000",
                    "inputs": f'{{"n": {n}}}',
                    "sha": ledger.inputs_hash({"n": n}),
                },
            )
    return engine


def test_existing_rows_are_kept_sealed_and_verify(tmp_path):
    engine = _store_at_0004(tmp_path / "old.db")
    upgrade(engine)
    with Session(engine) as s:
        registry, decisions = verify(s), ledger_chain.verify(s)
        order = s.execute(text("SELECT decision_id FROM decisions ORDER BY chain_seq")).all()
    engine.dispose()
    assert registry.ok and registry.length == 2, registry.problems
    assert decisions.ok and decisions.length == 2, decisions.problems
    assert [r[0] for r in order] == ["d1", "d2"]  # chained in the order decided


def test_a_broken_registry_chain_is_refused(tmp_path):
    engine = _store_at_0004(tmp_path / "broken.db", broken=True)
    refused = r"already broken(.|\n)*chain_seq 1 \(action 1\): edited"
    with pytest.raises(RuntimeError, match=refused):
        upgrade(engine)
    engine.dispose()
