"""The HTTP API: scores with their evidence, registry checks and entries, actions, the ledger."""

from __future__ import annotations

import datetime as dt

from tests.conftest import Clock
from tests.service.conftest import AS_OF, Api


def test_a_score_carries_its_evidence_and_is_in_the_ledger(api: Api) -> None:
    token = api.key("insurer")
    uscc = api.province.listed
    r = api.client.get(
        f"/v1/enterprises/{uscc}/score",
        params={"as_of": AS_OF.isoformat()},
        headers=api.headers(token),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grade"] == "D" and body["listings"][0]["entry_id"] == api.province.entry_id
    assert body["model_version"] == "test" and len(body["reasons"]) <= 4
    d = api.client.get(f"/v1/decisions/{body['decision_id']}", headers=api.headers(token))
    assert d.status_code == 200, d.text
    recorded = d.json()
    assert recorded["inputs"] == {"uscc": uscc, "as_of": AS_OF.isoformat()}
    assert {k: v for k, v in body.items() if k != "decision_id"} == recorded["output"]


def test_unknown_and_malformed_codes_get_clear_errors(api: Api) -> None:
    h = api.headers(api.key("regulator"))
    unknown = "91350200MA31E12PXF"  # well-formed, not in the province
    r = api.client.get(f"/v1/enterprises/{unknown}/score", headers=h)
    assert r.status_code == 404 and unknown in r.json()["detail"]
    r = api.client.get("/v1/enterprises/91350200MA31E12P/score", headers=h)
    assert r.status_code == 422 and "uscc" in r.json()["detail"]
    before = api.province.listed
    r = api.client.get(f"/v1/enterprises/{before}/score", params={"as_of": "1990-01-01"}, headers=h)
    assert r.status_code == 404 and "1990-01-01" in r.json()["detail"]


def test_a_check_says_who_is_restricted_by_what_and_replays(api: Api) -> None:
    p = api.province
    h = api.headers(api.key("approval_office"))
    body = {"usccs": [p.unlisted, p.listed.lower()], "domain": "bidding", "as_of": str(AS_OF)}
    r = api.client.post("/v1/registry/checks", json=body, headers=h)
    assert r.status_code == 200, r.text
    clear, listed = r.json()["results"]  # in the order asked
    assert (clear["uscc"], listed["uscc"]) == (p.unlisted, p.listed)
    assert (listed["status"], clear["status"]) == ("restricted", "clear")
    assert listed["restricted"] and listed["measures"][0]["basis"]
    (entry,) = listed["entries"]
    assert entry["entry_id"] == p.entry_id and entry["name"] == listed["name"]
    assert entry["grounds"][0]["title"] and entry["grounds"][0]["evidence"]
    assert "[R" not in entry["grounds"][0]["basis"] and entry["persons"]
    assert not clear["restricted"] and not clear["entries"] and clear["name"]
    early = {**body, "as_of": "2026-02-04"}  # the day before publication
    r2 = api.client.post("/v1/registry/checks", json=early, headers=h).json()
    assert not any(x["restricted"] for x in r2["results"])
    regulator = api.headers(api.key("regulator"))
    replayed = api.client.post(f"/v1/decisions/{r.json()['decision_id']}/replay", headers=regulator)
    assert replayed.status_code == 200 and replayed.json() == {
        "decision_id": r.json()["decision_id"],
        "reproduced": True,
        "differences": [],
    }


def test_checks_refuse_bad_codes_domains_and_too_many_naming_the_field(api: Api) -> None:
    h = api.headers(api.key("approval_office"))
    post = lambda body: api.client.post("/v1/registry/checks", json=body, headers=h)  # noqa: E731
    bad = post({"usccs": [api.province.listed, "NOT-A-CODE"], "domain": "bidding"})
    assert bad.status_code == 200 and bad.json()["results"][1]["status"] == "invalid"
    long = post({"usccs": ["9" * 65], "domain": "bidding"})
    assert long.status_code == 422 and "usccs.0" in long.json()["detail"]
    both = post({"usccs": [api.province.listed], "items": [], "domain": "bidding"})
    assert both.status_code == 422
    domain = post({"usccs": [api.province.listed], "domain": "fishing_rights"})
    assert domain.status_code == 422 and "domain" in domain.json()["detail"]
    many = [f"91140100{i:09d}X" for i in range(10_001)]
    too_many = post({"usccs": many, "domain": "bidding"})
    assert too_many.status_code == 422 and "usccs" in too_many.json()["detail"]


def test_replaying_a_score_reproduces_it_and_names_any_difference(api: Api) -> None:
    h = api.headers(api.key("regulator"))
    uscc = api.province.unlisted
    score = api.client.get(
        f"/v1/enterprises/{uscc}/score", params={"as_of": str(AS_OF)}, headers=h
    ).json()
    path = f"/v1/decisions/{score['decision_id']}/replay"
    assert api.client.post(path, headers=h).json()["reproduced"] is True
    # a decision whose recorded output was not what the inputs give is caught, field by field
    # (its row re-hashed and re-sealed with the key, as only the key's holder could)
    from registry import seal
    from registry.hashchain import content_hash
    from service.engine import ledger
    from service.store.tables import Decision

    with api.session.begin_nested():
        row = api.session.get(Decision, score["decision_id"])
        assert row is not None
        row.output = {**row.output, "score": row.output["score"] + 1}
        row.hash = content_hash(ledger.content(row), row.prev_hash)
        row.seal = seal.current().seal(ledger.CHAIN, row.chain_seq, row.hash)
    found = api.client.post(path, headers=h).json()
    assert found["reproduced"] is False and found["differences"][0].startswith("output.score")
    # without the key the rewrite is refused before anything is recomputed
    with api.session.begin_nested():
        row.seal = "0" * 64
    found = api.client.post(path, headers=h).json()
    assert found["reproduced"] is False and found["differences"] == [
        f"ledger: decision {row.chain_seq}'s seal fails: rewritten without the key"
    ]


def test_entries_show_status_and_what_may_be_done(api: Api) -> None:
    p = api.province
    h = api.headers(api.key("enterprise", uscc=p.listed))
    r = api.client.get("/v1/registry/entries", params={"as_of": str(AS_OF)}, headers=h)
    assert r.status_code == 200, r.text
    (entry,) = r.json()["entries"]
    assert entry["entry_id"] == p.entry_id and entry["status"]["state"] == "published"
    assert entry["status"]["earliest_repair_on"] == "2027-02-05"
    later = api.client.get("/v1/registry/entries", params={"as_of": "2029-02-06"}, headers=h)
    assert later.json()["entries"][0]["status"]["in_force"] is False  # expired on its own


def test_an_enterprise_files_its_own_repair_application(api: Api, frozen: Clock) -> None:
    p = api.province
    h = api.headers(api.key("enterprise", uscc=p.listed))
    path = f"/v1/registry/entries/{p.entry_id}/actions"
    body = {
        "action": "apply_repair",
        "reason": "整改完成，申请信用修复",
        "details": {"commitment_signed_on": "2027-02-01"},
    }
    frozen.day = dt.date(2027, 2, 8)
    dated = api.client.post(path, json={**body, "on": "2027-02-01"}, headers=h)
    assert dated.status_code == 422 and "dated by the server" in dated.json()["detail"]
    r = api.client.post(path, json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"]["state"] == "repair_applied"
    assert r.json()["acted_on"] == "2027-02-08"
    precheck = r.json()["precheck"]
    assert precheck["conditions"]["commitment_signed"]["met"]
    assert set(precheck["missing"]) <= {"penalties_fulfilled", "hazards_rectified", "no_new_event"}
    assert r.json()["department"] == p.department  # lodged with the deciding department
    decide = api.client.post(path, json={**body, "action": "approve_repair"}, headers=h)
    assert decide.status_code == 403 and "apply_repair" in decide.json()["detail"]
