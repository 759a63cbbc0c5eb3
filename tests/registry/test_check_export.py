"""Checks (many codes at once), incentives and the exported list."""

from __future__ import annotations

import json

import pytest

from registry.check import MAX_CODES, check, incentives
from registry.errors import InputError
from registry.evaluate import evaluate
from registry.export import export
from registry.procedure import act, propose
from tests.registry.conftest import D, new_uscc

DEPT = "太原市应急管理局"


def _publish(session, history, policy, published_on):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 2, 1))
    history.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
    (p,) = evaluate(session, policy=policy, as_of=D(2024, 2, 2), usccs=[uscc])
    e = propose(session, proposal=p, policy=policy, actor="r", department=DEPT, on=D(2024, 2, 2))
    say = dict(entry_id=e.entry_id, actor="r", department=DEPT, reason="step")
    act(session, action="notify", on=D(2024, 2, 5), **say)
    act(session, action="decide", on=D(2024, 3, 1), **say)
    act(session, action="publish", on=published_on, **say)
    return uscc, e


def test_check_many_codes_on_past_and_future_dates(session, history, mem11):
    listed = [_publish(session, history, mem11, D(2024, 3, 1 + i))[0] for i in range(3)]
    clean = [new_uscc() for _ in range(5)]
    result = check(session, usccs=listed + clean, domain="financing", as_of=D(2024, 3, 2))
    assert [result[u].restricted for u in listed] == [True, True, False]
    assert not any(result[u].restricted for u in clean)
    (item,) = result[listed[0]].entries
    assert (item.rule, item.published_on, item.decided_on) == ("S6", D(2024, 3, 1), D(2024, 3, 1))
    assert item.evidence[0][0] == "violations"
    later = check(session, usccs=listed, domain="financing", as_of=D(2027, 3, 2))
    assert [later[u].restricted for u in listed] == [False, False, True]


def test_check_refuses_bad_input(session):
    with pytest.raises(InputError, match="unknown domain"):
        check(session, usccs=["x"], domain="parking", as_of=D(2024, 1, 1))
    with pytest.raises(InputError, match=f"at most {MAX_CODES}"):
        check(
            session,
            usccs=[f"{i:018d}" for i in range(MAX_CODES + 1)],
            domain="bidding",
            as_of=D(2024, 1, 1),
        )


def test_incentives_need_no_record_and_grade_a(session, history, mem11):
    listed, _ = _publish(session, history, mem11, D(2024, 3, 1))
    clean, graded_b = new_uscc(), new_uscc()
    out = incentives(
        session,
        usccs=[listed, clean, graded_b],
        domain="government_procurement",
        as_of=D(2024, 6, 1),
        grades={listed: "A", clean: "A", graded_b: "B"},
        policy=mem11,
    )
    assert out[clean].eligible and out[clean].measure["measure"] == "同等条件下优先考虑"
    assert not out[listed].eligible and "record" in out[listed].why_not[0]
    assert not out[graded_b].eligible
    assert not incentives(
        session,
        usccs=[clean],
        domain="state_land",
        as_of=D(2024, 6, 1),
        grades={clean: "A"},
        policy=mem11,
    )[clean].eligible


def test_export_writes_the_published_list_with_the_chain_head(session, history, mem11, tmp_path):
    uscc, entry = _publish(session, history, mem11, D(2024, 3, 1))
    act(
        session,
        entry_id=entry.entry_id,
        action="correct",
        actor="r",
        department=DEPT,
        on=D(2024, 3, 5),
        reason="name",
        details={"corrections": {"name": "更正后的名称"}},
    )
    paths = export(session, as_of=D(2024, 4, 1), out_dir=tmp_path)
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    mine = [e for e in doc["entries"] if e["uscc"] == uscc]
    assert len(mine) == 1 and mine[0]["name"] == "更正后的名称" and mine[0]["rule"] == "S6"
    assert mine[0]["term_ends_on"] == "2027-03-01"
    assert len(doc["chain"]["head_hash"]) == 64 and doc["chain"]["length"] >= 4
    assert uscc in paths["csv"].read_text(encoding="utf-8")
    before = export(session, as_of=D(2024, 2, 29), out_dir=tmp_path / "early")
    early = json.loads(before["json"].read_text(encoding="utf-8"))
    assert uscc not in {e["uscc"] for e in early["entries"]}
