"""The procedure end to end on both regimes, each removal path, and refused transitions."""

from __future__ import annotations

import datetime as dt

import pytest

from features.tables import Penalty
from registry.check import check
from registry.errors import (
    ConditionsError,
    ConflictError,
    ForbiddenError,
    InputError,
    TransitionError,
)
from registry.evaluate import evaluate
from registry.procedure import act, actions_of, propose
from registry.status import status
from tests.registry.conftest import D

DEPT = "太原市应急管理局"


def _listed(session, history, policy, *, rule_event, published_on, fulfilled_on=None):
    """Create one S1 (or J1) trigger, propose it and carry it to publication."""
    uscc = history.enterprise()
    pid = history.penalty(uscc, rule_event + dt.timedelta(days=30), fulfilled_on=fulfilled_on)
    history.accident(uscc, rule_event, deaths=12, penalty=pid)
    (proposal,) = evaluate(
        session, policy=policy, as_of=rule_event + dt.timedelta(days=40), usccs=[uscc]
    )
    entry = propose(
        session,
        proposal=proposal,
        policy=policy,
        actor="reg-1",
        department=DEPT,
        on=rule_event + dt.timedelta(days=40),
    )
    say = dict(entry_id=entry.entry_id, actor="reg-1", department=DEPT)
    notified_on = published_on - dt.timedelta(days=40)
    act(session, action="notify", on=notified_on, reason="prior notice", **say)
    act(session, action="decide", on=published_on - dt.timedelta(days=5), reason="decision", **say)
    act(session, action="publish", on=published_on, reason="publication", **say)
    return uscc, entry, say


def _in_force(session, uscc, on):
    return check(session, usccs=[uscc], domain="government_procurement", as_of=on)[0].restricted


def test_current_regime_expires_automatically_after_three_years(session, history, mem11):
    uscc, entry, _ = _listed(
        session, history, mem11, rule_event=D(2024, 1, 10), published_on=D(2024, 4, 1)
    )
    assert not _in_force(session, uscc, D(2024, 3, 31))
    assert _in_force(session, uscc, D(2024, 4, 1))
    assert _in_force(session, uscc, D(2027, 3, 31))
    assert not _in_force(session, uscc, D(2027, 4, 1))
    st = status(actions_of(session, entry_id=entry.entry_id), on=D(2027, 4, 1))
    assert (st.state, st.removal, st.removed_on) == ("expired", "expiry", D(2027, 4, 1))
    (result,) = check(session, usccs=[uscc], domain="bidding", as_of=D(2025, 1, 1))
    (item,) = result.entries
    assert item.rule == "S1" and item.term_ends_on == D(2027, 4, 1)
    assert item.earliest_repair_on == D(2025, 4, 1)
    assert result.measures[0]["measure"] == mem11.measure("bidding").measure


def test_early_repair_checks_every_condition_then_removes(session, history, mem11):
    uscc, entry, say = _listed(
        session, history, mem11, rule_event=D(2024, 1, 10), published_on=D(2024, 4, 1)
    )
    with pytest.raises(TransitionError, match="from 2025-04-01"):
        act(session, action="apply_repair", on=D(2025, 3, 31), reason="early", **say)
    act(
        session,
        action="apply_repair",
        on=D(2025, 4, 1),
        reason="repair application",
        details={"commitment_signed_on": "2025-03-20"},
        **say,
    )
    with pytest.raises(ConditionsError) as refused:
        act(session, action="approve_repair", on=D(2025, 4, 10), reason="ok", **say)
    assert set(refused.value.failed) == {"penalties_fulfilled"}
    # the penalty is carried out: a later version of the decision, known from 2025-04-15
    history.add(
        Penalty,
        known_from=D(2025, 4, 15),
        penalty_decision_id=entry.penalty_decision_id,
        uscc=uscc,
        decided_on=D(2024, 2, 9),
        measure="fine",
        amount_cny=100_000.0,
        fine_multiplier=None,
        fulfilled_on=D(2025, 4, 14),
        department=DEPT,
    )
    act(session, action="approve_repair", on=D(2025, 4, 20), reason="conditions met", **say)
    assert _in_force(session, uscc, D(2025, 4, 19))
    assert not _in_force(session, uscc, D(2025, 4, 20))
    # fraud found: the listing is restored from that date on, the past stays as it was
    act(session, action="restore", on=D(2025, 9, 1), reason="forged commitment", **say)
    assert not _in_force(session, uscc, D(2025, 8, 31))
    assert _in_force(session, uscc, D(2025, 9, 1))
    assert not _in_force(session, uscc, D(2027, 4, 1))


def test_repair_refused_on_a_new_event_and_an_overdue_hazard(session, history, mem11):
    uscc, entry, say = _listed(
        session,
        history,
        mem11,
        rule_event=D(2024, 1, 10),
        published_on=D(2024, 4, 1),
        fulfilled_on=D(2024, 3, 1),
    )
    history.hazard(uscc, D(2024, 6, 1), D(2024, 7, 1))
    pid = history.penalty(uscc, D(2024, 9, 1))
    history.violation(uscc, D(2024, 8, 20), "refused_order", penalty=pid)
    act(
        session,
        action="apply_repair",
        on=D(2025, 5, 1),
        reason="application",
        details={"commitment_signed_on": "2025-05-01"},
        **say,
    )
    with pytest.raises(ConditionsError) as refused:
        act(session, action="approve_repair", on=D(2025, 5, 2), reason="ok", **say)
    assert set(refused.value.failed) == {"hazards_rectified", "no_new_event"}
    act(session, action="reject_repair", on=D(2025, 5, 3), reason="conditions unmet", **say)
    assert _in_force(session, uscc, D(2025, 5, 3))
    assert status(actions_of(session, entry_id=entry.entry_id), on=D(2025, 5, 3)).state == (
        "published"
    )


def test_objection_upheld_or_revoked(session, history, mem11):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 2, 1))
    history.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 2, 2), usccs=[uscc])
    a = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 2, 2))
    say = dict(entry_id=a.entry_id, actor="r", department=DEPT)
    act(session, action="notify", on=D(2024, 2, 5), reason="notice", **say)  # a Monday
    st = status(actions_of(session, entry_id=a.entry_id), on=D(2024, 2, 5))
    assert st.objection_until == D(2024, 2, 26)  # 15 working days
    with pytest.raises(TransitionError, match="objection window is open until 2024-02-26"):
        act(session, action="decide", on=D(2024, 2, 26), reason="too soon", **say)
    act(session, action="object", on=D(2024, 2, 20), reason="the permit existed", **say)
    with pytest.raises(TransitionError) as refused:
        act(session, action="publish", on=D(2024, 2, 21), reason="x", **say)
    assert refused.value.state == "objected"
    assert refused.value.allowed == ("correct", "revoke", "uphold")
    act(session, action="uphold", on=D(2024, 3, 1), reason="objection unfounded", **say)
    act(session, action="decide", on=D(2024, 3, 2), reason="decision", **say)
    act(session, action="publish", on=D(2024, 3, 3), reason="published", **say)
    assert _in_force(session, uscc, D(2024, 3, 3))


def test_revoked_entry_is_never_in_force(session, history, mem11):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 2, 1))
    history.violation(uscc, D(2024, 1, 5), "operating_under_suspension", penalty=pid)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 2, 2), usccs=[uscc])
    e = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 2, 2))
    say = dict(entry_id=e.entry_id, actor="r", department=DEPT)
    act(session, action="notify", on=D(2024, 2, 5), reason="notice", **say)
    act(session, action="object", on=D(2024, 2, 6), reason="wrong unit", **say)
    act(session, action="revoke", on=D(2024, 2, 9), reason="objection founded", **say)
    for action in ("decide", "publish", "uphold", "notify"):
        with pytest.raises(TransitionError, match="'revoked'"):
            act(session, action=action, on=D(2024, 3, 1), reason="x", **say)
    assert not _in_force(session, uscc, D(2024, 3, 1))


def test_object_after_window_closes_is_refused(session, history, mem11):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 2, 1))
    history.violation(uscc, D(2024, 1, 5), "refused_order", penalty=pid)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 2, 2), usccs=[uscc])
    e = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 2, 2))
    say = dict(entry_id=e.entry_id, actor="r", department=DEPT)
    act(session, action="notify", on=D(2024, 2, 5), reason="notice", **say)
    with pytest.raises(TransitionError, match="window closed on 2024-02-26"):
        act(session, action="object", on=D(2024, 2, 27), reason="late", **say)


@pytest.mark.parametrize(
    ("done", "action"),
    [
        ((), "publish"),
        ((), "decide"),
        ((), "approve_repair"),
        ((), "object"),
        (("notify",), "notify"),
        (("notify",), "uphold"),
        (("notify",), "publish"),
        (("notify", "decide"), "revoke"),
        (("notify", "decide"), "apply_repair"),
        (("notify", "decide", "publish"), "decide"),
        (("notify", "decide", "publish"), "restore"),
        (("notify", "decide", "publish"), "approve_repair"),
        (("notify", "decide", "publish"), "reject_repair"),
    ],
)
def test_refused_transitions_change_nothing(session, history, mem11, done, action):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 2, 1))
    history.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 2, 2), usccs=[uscc])
    e = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 2, 2))
    say = dict(entry_id=e.entry_id, actor="r", department=DEPT)
    days = iter([D(2024, 2, 5), D(2024, 3, 1), D(2024, 3, 2)])
    for step in done:
        act(session, action=step, on=next(days), reason="step", **say)
    before = [(a.seq, a.action) for a in actions_of(session, entry_id=e.entry_id)]
    with pytest.raises(TransitionError) as refused:
        act(session, action=action, on=D(2025, 6, 1), reason="try", **say)
    assert refused.value.action == action and action not in refused.value.allowed
    assert [(a.seq, a.action) for a in actions_of(session, entry_id=e.entry_id)] == before


def test_only_the_deciding_department_acts(session, history, mem11):
    uscc = history.enterprise()
    pid = history.penalty(uscc, D(2024, 2, 1))
    history.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
    (p,) = evaluate(session, policy=mem11, as_of=D(2024, 2, 2), usccs=[uscc])
    with pytest.raises(ForbiddenError, match="imposed by '太原市应急管理局'"):
        propose(
            session,
            proposal=p,
            policy=mem11,
            actor="x",
            department="大同市应急管理局",
            on=D(2024, 2, 2),
        )
    e = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 2, 2))
    with pytest.raises(ForbiddenError):
        act(
            session,
            entry_id=e.entry_id,
            action="notify",
            actor="x",
            department="大同市应急管理局",
            on=D(2024, 2, 5),
            reason="notice",
        )
    with pytest.raises(InputError, match="reason"):
        act(
            session,
            entry_id=e.entry_id,
            action="notify",
            actor="r",
            department=DEPT,
            on=D(2024, 2, 5),
            reason=" ",
        )
    with pytest.raises(TransitionError, match="before the entry's last action"):
        act(
            session,
            entry_id=e.entry_id,
            action="notify",
            actor="r",
            department=DEPT,
            on=D(2024, 2, 1),
            reason="backdated",
        )
    with pytest.raises(ConflictError, match="version"):
        act(
            session,
            entry_id=e.entry_id,
            action="notify",
            actor="r",
            department=DEPT,
            on=D(2024, 2, 5),
            reason="notice",
            expected_version=7,
        )


def test_correct_keeps_state_and_is_shown(session, history, mem11):
    _, entry, say = _listed(
        session, history, mem11, rule_event=D(2024, 1, 10), published_on=D(2024, 4, 1)
    )
    act(
        session,
        action="correct",
        on=D(2024, 5, 1),
        reason="wrong safety lead",
        details={"corrections": {"persons": [{"role": "principal", "name": "李四"}]}},
        **say,
    )
    with pytest.raises(InputError, match="corrections"):
        act(
            session,
            action="correct",
            on=D(2024, 5, 2),
            reason="x",
            details={"corrections": {"rule": "S2"}},
            **say,
        )
    assert status(actions_of(session, entry_id=entry.entry_id), on=D(2024, 5, 1)).state == (
        "published"
    )


def test_2017_regime_needs_an_application_and_ends_at_expiry(session, history, saws49):
    uscc, entry, say = _listed(
        session,
        history,
        saws49,
        rule_event=D(2019, 1, 10),
        published_on=D(2019, 4, 1),
        fulfilled_on=D(2019, 3, 1),
    )
    # no automatic removal: still listed after the 1-year term
    assert _in_force(session, uscc, D(2021, 1, 1))
    st = status(actions_of(session, entry_id=entry.entry_id), on=D(2019, 5, 1))
    assert (st.term_ends_on, st.earliest_repair_on) == (D(2020, 4, 1), D(2020, 3, 2))
    with pytest.raises(TransitionError, match="from 2020-03-02"):
        act(session, action="apply_repair", on=D(2020, 3, 1), reason="early", **say)
    act(session, action="apply_repair", on=D(2020, 3, 2), reason="application", **say)
    act(session, action="approve_repair", on=D(2020, 3, 10), reason="conditions met", **say)
    assert _in_force(session, uscc, D(2020, 3, 31))  # removal takes effect at expiry
    assert not _in_force(session, uscc, D(2020, 4, 1))


def test_2017_second_listing_gets_three_years(session, history, saws49):
    uscc, _, _ = _listed(
        session, history, saws49, rule_event=D(2019, 1, 10), published_on=D(2019, 4, 1)
    )
    pid = history.penalty(uscc, D(2020, 2, 1))
    history.violation(uscc, D(2020, 1, 5), "no_permit", penalty=pid)
    (p,) = evaluate(session, policy=saws49, as_of=D(2020, 2, 2), usccs=[uscc])
    e = propose(session, proposal=p, policy=saws49, actor="r", department=DEPT, on=D(2020, 2, 2))
    say = dict(entry_id=e.entry_id, actor="r", department=DEPT)
    act(session, action="notify", on=D(2020, 2, 3), reason="notice", **say)
    decided = act(session, action="decide", on=D(2020, 3, 2), reason="decision", **say)
    act(session, action="publish", on=D(2020, 3, 3), reason="published", **say)
    assert decided.details["repeat_listing"] and decided.details["term_months"] == 36
    st = status(actions_of(session, entry_id=e.entry_id), on=D(2020, 3, 3))
    assert st.term_ends_on == D(2023, 3, 3)
