"""Each listing rule of both regimes, with the near miss that must not trigger it."""

from __future__ import annotations

import pytest

from registry.evaluate import evaluate
from registry.procedure import propose
from tests.registry.conftest import D

AS_OF = D(2025, 6, 30)
OLD = D(2021, 6, 30)  # events under the 2017 regime


def _rules(session, policy, uscc, as_of):
    return sorted(
        (p.rule, p.evidence) for p in evaluate(session, policy=policy, as_of=as_of, usccs=[uscc])
    )


def _accident_case(h, day, **kw):
    uscc = h.enterprise()
    pid = h.penalty(uscc, day.replace(day=28))
    aid = h.accident(uscc, day, penalty=pid, **kw)
    return uscc, aid


@pytest.mark.parametrize(
    ("fields", "expect"),
    [
        ({"deaths": 10}, {"S1"}),
        ({"deaths": 10, "responsible": False}, set()),
        ({"deaths": 9}, set()),  # 较大 alone is not S1
        ({"deaths": 0, "serious_injuries": 100}, {"S1"}),
        ({"reporting": "concealed"}, {"S4"}),
        ({"reporting": "false"}, {"S4"}),
        ({"reporting": "late"}, set()),  # late reporting is not S4
        ({"principal_fled": True}, {"S5"}),
    ],
)
def test_current_regime_accident_rules(session, history, mem11, fields, expect):
    uscc, _ = _accident_case(history, D(2024, 3, 1), **fields)
    assert {r for r, _ in _rules(session, mem11, uscc, AS_OF)} == expect


@pytest.mark.parametrize(
    ("fields", "expect"),
    [
        ({"deaths": 3}, {"J1"}),
        ({"deaths": 3, "responsible": False}, set()),
        ({"reporting": "late"}, {"J6"}),
        ({"reporting": "concealed"}, {"J6"}),
        ({"principal_fled": True}, {"J9"}),
        ({"deaths": 1}, set()),
    ],
)
def test_2017_regime_accident_rules(session, history, saws49, fields, expect):
    uscc, _ = _accident_case(history, D(2020, 3, 1), **fields)
    assert {r for r, _ in _rules(session, saws49, uscc, OLD)} == expect


def test_regimes_apply_to_their_own_event_dates(session, history, mem11, saws49):
    old, _ = _accident_case(history, D(2020, 3, 1), deaths=12)
    new, _ = _accident_case(history, D(2024, 3, 1), deaths=12)
    assert _rules(session, mem11, old, AS_OF) == []
    assert _rules(session, saws49, new, AS_OF) == []


def test_s2_two_larger_accidents_within_twelve_months(session, history, mem11):
    uscc = history.enterprise()
    p1, p2, p3 = (
        history.penalty(uscc, d) for d in (D(2024, 1, 20), D(2024, 12, 20), D(2025, 1, 20))
    )
    a1 = history.accident(uscc, D(2024, 1, 5), deaths=3, penalty=p1)
    assert _rules(session, mem11, uscc, AS_OF) == []
    history.accident(uscc, D(2025, 1, 6), deaths=4, penalty=p3)  # 12 months + 1 day later
    assert _rules(session, mem11, uscc, AS_OF) == []
    a2 = history.accident(uscc, D(2024, 12, 1), deaths=3, penalty=p2)
    found = _rules(session, mem11, uscc, AS_OF)
    assert ("S2", tuple(sorted([("accidents", a1), ("accidents", a2)]))) in found
    assert all(rule == "S2" for rule, _ in found) and len(found) == 2


def test_j1_three_fatal_general_accidents_in_a_year(session, history, saws49):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2020, 11, 1))
    for day in (D(2020, 1, 5), D(2020, 6, 5)):
        history.accident(uscc, day, deaths=1, penalty=pid)
    history.accident(uscc, D(2020, 8, 5), deaths=0, penalty=pid)  # not fatal
    assert _rules(session, saws49, uscc, OLD) == []
    history.accident(uscc, D(2020, 10, 5), deaths=2, penalty=pid)
    assert [r for r, _ in _rules(session, saws49, uscc, OLD)] == ["J1"]


def test_s3_accident_fined_by_multiple(session, history, mem11):
    uscc = history.enterprise()
    fined = history.penalty(uscc, D(2024, 4, 1), fine_multiplier=3)
    plain = history.penalty(uscc, D(2024, 4, 2))
    a = history.accident(uscc, D(2024, 3, 1), penalty=fined)
    history.accident(uscc, D(2024, 3, 2), penalty=plain)
    assert _rules(session, mem11, uscc, AS_OF) == [("S3", (("accidents", a),))]


@pytest.mark.parametrize(
    ("category", "policy", "rule"),
    [
        ("no_permit", "mem11", "S6"),
        ("operating_under_suspension", "mem11", "S6"),
        ("false_report", "mem11", "S7"),
        ("refused_order", "mem11", "S8"),
        ("training", "mem11", None),
        ("rescue_failure", "mem11", "S5"),
        ("no_permit", "saws49", "J2"),
        ("evading_supervision", "saws49", "J4"),
        ("operating_under_suspension", "saws49", "J5"),
        ("unaccepted_project", "saws49", "J7"),
        ("beyond_licence", "saws49", "J8"),
        ("destroying_evidence", "saws49", "J9"),
        ("false_report", "saws49", "J10"),
        ("refused_order", "saws49", None),
    ],
)
def test_violation_rules(session, history, category, policy, rule, request):
    pol = request.getfixturevalue(policy)
    day = D(2024, 3, 1) if policy == "mem11" else D(2020, 3, 1)
    as_of = AS_OF if policy == "mem11" else OLD
    uscc = history.enterprise()
    pid = history.penalty(uscc, day.replace(day=20))
    vid = history.violation(uscc, day, category, penalty=pid)
    history.violation(uscc, day, category, penalty=None)  # no penalty decision, no proposal
    expected = [] if rule is None else [(rule, (("violations", vid),))]
    assert _rules(session, pol, uscc, as_of) == expected


def test_s9_serious_violation_closed_down(session, history, mem11):
    uscc = history.enterprise()
    closed = history.penalty(uscc, D(2024, 3, 20), measure="closure")
    v = history.violation(uscc, D(2024, 3, 1), "equipment", penalty=closed)
    history.violation(uscc, D(2024, 3, 1), "equipment", penalty=closed, severity="general")
    assert _rules(session, mem11, uscc, AS_OF) == [("S9", (("violations", v),))]


def test_j3_major_hazard_left_overdue(session, history, saws49):
    uscc = history.enterprise()
    h = history.hazard(uscc, D(2020, 1, 1), D(2020, 3, 1))
    history.hazard(uscc, D(2020, 1, 1), D(2020, 3, 1), rectified_on=D(2020, 2, 1))
    history.hazard(uscc, D(2020, 1, 1), D(2020, 3, 1), level="general")
    assert _rules(session, saws49, uscc, OLD) == []  # no penalty yet
    history.penalty(uscc, D(2020, 4, 1))
    assert _rules(session, saws49, uscc, OLD) == [("J3", (("hazards", h),))]
    assert _rules(session, saws49, uscc, D(2020, 3, 15)) == []  # penalty not yet known


def test_point_in_time_and_idempotence(session, history, mem11):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 5, 1), department="晋中市应急管理局")
    history.accident(uscc, D(2024, 3, 1), deaths=12, penalty=pid, reported_on=D(2024, 4, 1))
    assert _rules(session, mem11, uscc, D(2024, 4, 30)) == []  # penalty not decided yet
    (p,) = evaluate(session, policy=mem11, as_of=AS_OF, usccs=[uscc])
    assert (p.department, p.penalty_decision_id, p.policy) == ("晋中市应急管理局", pid, mem11.key)
    assert p.persons == (
        ("legal_representative", "张三"),
        ("principal", "李四"),
        ("safety_lead", "王五"),
    )
    propose(session, proposal=p, policy=mem11, actor="r", department="晋中市应急管理局", on=AS_OF)
    assert evaluate(session, policy=mem11, as_of=AS_OF, usccs=[uscc]) == []
    assert evaluate(session, policy=mem11, as_of=D(2026, 1, 1), usccs=[uscc]) == []


def test_no_department_no_proposal(session, history, mem11):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 5, 1), department=None)
    history.accident(uscc, D(2024, 3, 1), deaths=12, penalty=pid)
    assert evaluate(session, policy=mem11, as_of=AS_OF, usccs=[uscc]) == []
