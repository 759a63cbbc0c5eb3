"""Checks (many codes at once), incentives and the exported list."""

from __future__ import annotations

import hashlib
import json

import pytest

from registry.check import MAX_CODES, check
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
    asked = listed + clean
    result = check(session, usccs=asked, domain="financing", as_of=D(2024, 3, 2))
    assert [c.uscc for c in result] == asked  # the order asked
    assert [c.status for c in result] == ["restricted", "restricted", "clear"] + ["not_found"] * 5
    assert [c.restricted for c in result[:3]] == [True, True, False]
    (item,) = result[0].entries
    assert (item.rule, item.published_on, item.decided_on) == ("S6", D(2024, 3, 1), D(2024, 3, 1))
    assert item.evidence[0][0] == "violations"
    assert result[0].name == item.name == f"企业{listed[0][-6:]}"
    assert ("legal_representative", "张三") in item.persons
    (ground,) = item.grounds
    assert ground.title == mem11.rule("S6").title and "[R" not in ground.basis
    later = check(session, usccs=listed, domain="financing", as_of=D(2027, 3, 2))
    assert [c.restricted for c in later] == [False, False, True]


def test_check_refuses_bad_input(session):
    with pytest.raises(InputError, match="unknown"):
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
    clean, graded_b = history.enterprise(), history.enterprise()
    grades = {listed: "A", clean: "A", graded_b: "B"}
    asked = [listed, clean, graded_b]
    out = check(session, usccs=asked, domain="government_procurement", as_of=D(2024, 6, 1))
    assert all(not c.incentives and c.grade is None for c in out)  # no grades given: none
    out = check(
        session, usccs=asked, domain="government_procurement", as_of=D(2024, 6, 1), grades=grades
    )
    assert [c.status for c in out] == ["restricted", "clear", "clear"]
    (offer,) = out[1].incentives
    assert offer["measure"] == "同等条件下优先考虑" and offer["policy"] == "mem11@2026.11"
    assert "[R" not in offer["basis"]
    assert not out[0].incentives and not out[2].incentives
    # a record stays a record after removal: no incentive once ever published
    (after,) = check(
        session, usccs=[listed], domain="government_procurement", as_of=D(2028, 1, 1), grades=grades
    )
    assert after.status == "clear" and not after.incentives
    (land,) = check(session, usccs=[clean], domain="state_land", as_of=D(2024, 6, 1), grades=grades)
    assert not land.incentives  # the policy offers none in that domain


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
    assert paths["csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads Chinese
    assert doc["csv_sha256"] == hashlib.sha256(paths["csv"].read_bytes()).hexdigest()
    before = export(session, as_of=D(2024, 2, 29), out_dir=tmp_path / "early")
    early = json.loads(before["json"].read_text(encoding="utf-8"))
    assert uscc not in {e["uscc"] for e in early["entries"]}
