"""The registry over HTTP says only true things: every code gets its status, the date is the
server's, a check replays as the registry was known when it was answered, and approval offices
and insurers see nothing that was not decided and published (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import act, propose
from service.engine.decisions import Scorer, score
from tests.conftest import Clock
from tests.service.conftest import AS_OF, END, Api

CHECKS = "/v1/registry/checks"


def _notified(api: Api, on: dt.date = dt.date(2026, 1, 5)) -> tuple[str, str, str]:
    """A second proposal of the province, proposed on ``on`` and notified the day after (not
    decided): (entry id, USCC, department)."""
    policy = find_policy("mem11")
    with api.session.begin_nested():
        proposal = evaluate(api.session, policy=policy, as_of=END)[0]
        who = {"actor": "reg-2", "department": proposal.department}
        entry = propose(api.session, proposal=proposal, policy=policy, on=on, **who)
        act(
            api.session,
            entry_id=entry.entry_id,
            action="notify",
            on=on + dt.timedelta(days=1),
            reason="prior notice",
            **who,
        )
    return entry.entry_id, proposal.uscc, proposal.department


def test_every_code_gets_a_true_status_in_the_order_asked(api: Api) -> None:
    p = api.province
    h = api.headers(api.key("approval_office"))
    unknown = "91350200MA31E12PXF"  # valid, no such enterprise in the store
    items = [
        {"uscc": p.listed, "ref": "bid-1"},
        {"uscc": "12345", "ref": "bid-2"},
        {"uscc": unknown},
        {"uscc": p.unlisted.lower(), "ref": "bid-4"},
        {"uscc": p.listed[:17] + ("0" if p.listed[17] != "0" else "1")},
    ]
    r = api.client.post(
        CHECKS, json={"items": items, "domain": "bidding", "as_of": str(AS_OF)}, headers=h
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [
        "restricted",
        "invalid",
        "not_found",
        "clear",
        "invalid",
    ]
    assert [x["ref"] for x in results] == ["bid-1", "bid-2", None, "bid-4", None]
    assert [x["restricted"] for x in results] == [True, False, False, False, False]
    assert "18 characters" in results[1]["note"]
    assert "check character" in results[4]["note"]
    assert results[3]["uscc"] == p.unlisted and results[3]["name"]
    assert results[2]["name"] is None and not results[2]["entries"]
    before = api.client.post(
        CHECKS, json={"usccs": [p.listed], "domain": "bidding", "as_of": "1999-01-01"}, headers=h
    )
    assert before.json()["results"][0]["status"] == "not_found"  # not yet in the store then


def test_a_clear_grade_a_enterprise_hears_of_its_incentives(api: Api, scorer: Scorer) -> None:
    p = api.province
    decisions = score(api.session, scorer, as_of=AS_OF)
    graded_a = next(d.uscc for d in decisions if d.grade == "A" and d.uscc != p.listed)
    h = api.headers(api.key("approval_office"))
    body = {"usccs": [graded_a, p.listed], "domain": "administrative_approval"}
    r = api.client.post(CHECKS, json={**body, "as_of": str(AS_OF)}, headers=h)
    clear, listed = r.json()["results"]
    assert (clear["status"], clear["grade"]) == ("clear", "A")
    (offer,) = clear["incentives"]
    assert offer["measure"].startswith("行政审批绿色通道") and offer["basis"]
    assert listed["status"] == "restricted" and not listed["incentives"]
    regulator = api.headers(api.key("regulator"))
    replay = api.client.post(f"/v1/decisions/{r.json()['decision_id']}/replay", headers=regulator)
    assert replay.json()["reproduced"] is True, replay.text


def test_a_late_publication_never_changes_an_answer_given(api: Api, frozen: Clock) -> None:
    # the registry's clock runs on from the real one: nothing recorded so far is later
    base = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    frozen.day = base
    entry_id, uscc, department = _notified(api, base - dt.timedelta(days=40))
    day = lambda n: base + dt.timedelta(days=n)  # noqa: E731
    reg = api.headers(api.key("regulator", department=department))
    office = api.headers(api.key("approval_office"))
    path = f"/v1/registry/entries/{entry_id}/actions"
    frozen.day = day(10)
    r = api.client.post(path, json={"action": "decide", "reason": "decision"}, headers=reg)
    assert r.status_code == 200, r.text
    body = {"usccs": [uscc], "domain": "bidding", "as_of": str(day(12))}
    frozen.day = day(20)
    first = api.client.post(CHECKS, json=body, headers=office).json()
    assert first["results"][0]["status"] == "clear"  # decided, not yet published
    # published on paper on day 11, entered on day 21
    frozen.day = day(21)
    late = {"action": "publish", "reason": "published", "on": str(day(11))}
    refused = api.client.post(path, json=late, headers=reg)
    assert refused.status_code == 422 and "late_reason" in refused.json()["detail"]
    future = api.client.post(path, json={**late, "on": str(day(22))}, headers=reg)
    assert future.status_code == 422 and "after today" in future.json()["detail"]
    too_late = {**late, "on": str(day(-10)), "late_reason": "paper file"}
    assert api.client.post(path, json=too_late, headers=reg).status_code == 422
    r = api.client.post(path, json={**late, "late_reason": "paper file"}, headers=reg)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["acted_on"] == str(day(11)) and out["late_entry"]["entered_on"] == str(day(21))
    assert out["recorded_at"] > first["known_at"]
    # a new check of the same day sees the publication; the first one replays unchanged
    second = api.client.post(CHECKS, json=body, headers=office).json()
    assert second["results"][0]["status"] == "restricted"
    replay = api.client.post(f"/v1/decisions/{first['decision_id']}/replay", headers=reg)
    assert replay.json()["reproduced"] is True, replay.text
    # an auditor asks what the registry said at the moment of the first answer
    asked = {**body, "known_at": first["known_at"]}
    then = api.client.post(CHECKS, json=asked, headers=office).json()
    assert then["results"][0]["status"] == "clear" and then["known_at"] == first["known_at"]
    ahead = {**body, "known_at": f"{day(30)}T00:00:00Z"}
    assert api.client.post(CHECKS, json=ahead, headers=office).status_code == 422


def test_only_regulators_and_the_enterprise_see_undecided_entries(api: Api) -> None:
    entry_id, uscc, _ = _notified(api)
    params = {"as_of": str(AS_OF)}
    seen = {}
    for role, extra in (
        ("regulator", {}),
        ("enterprise", {"uscc": uscc}),
        ("approval_office", {}),
        ("insurer", {}),
    ):
        h = api.headers(api.key(role, **extra))
        r = api.client.get("/v1/registry/entries", params={**params, "uscc": uscc}, headers=h)
        assert r.status_code == 200, r.text
        seen[role] = r.json()["entries"]
    assert [e["entry_id"] for e in seen["regulator"]] == [entry_id]
    assert seen["regulator"][0]["allowed_actions"] and seen["enterprise"][0]["allowed_actions"]
    assert seen["approval_office"] == [] and seen["insurer"] == []
    office = api.headers(api.key("approval_office"))
    everyone = api.client.get("/v1/registry/entries", params=params, headers=office).json()
    assert [e["entry_id"] for e in everyone["entries"]] == [api.province.entry_id]
    assert everyone["total"] == 1 and everyone["entries"][0]["allowed_actions"] is None


def test_filings_are_validated_and_prechecked(api: Api, frozen: Clock) -> None:
    p = api.province
    h = api.headers(api.key("enterprise", uscc=p.listed))
    path = f"/v1/registry/entries/{p.entry_id}/actions"
    frozen.day = dt.date(2027, 2, 8)
    body = {"action": "apply_repair", "reason": "申请信用修复"}
    bad_date = {**body, "details": {"commitment_signed_on": "not-a-date"}}
    r = api.client.post(path, json=bad_date, headers=h)
    assert r.status_code == 422 and "details.commitment_signed_on" in r.json()["detail"]
    unknown = {**body, "details": {"signed": "2027-02-01"}}
    r = api.client.post(path, json=unknown, headers=h)
    assert r.status_code == 422 and "details.signed" in r.json()["detail"]
    huge = {**body, "details": {"note": "x" * 40_000}}
    assert api.client.post(path, json=huge, headers=h).status_code == 413
    unknown_action = api.client.post(path, json={**body, "action": "delete"}, headers=h)
    assert unknown_action.status_code == 422
    r = api.client.post(path, json=body, headers=h)  # no commitment yet
    assert r.status_code == 200, r.text
    pre = r.json()["precheck"]
    assert "commitment_signed" in pre["missing"] and pre["earliest_approval_on"] is None
    assert pre["conditions"]["term_served"]["met"] is True
    reg = api.headers(api.key("regulator", department=p.department))
    approve = api.client.post(
        path, json={"action": "approve_repair", "reason": "conditions"}, headers=reg
    )
    assert approve.status_code == 422 and "commitment_signed" in approve.json()["detail"]
