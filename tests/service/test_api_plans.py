"""``GET /v1/plans/inspections``: regulators only, bad input is a 4xx JSON answer, the plan
respects capacity and random share, the same seed gives the same plan."""

from __future__ import annotations

from sqlalchemy import text

from tests.service.conftest import Api

URL = "/v1/plans/inspections"


def test_only_regulators_plan(api: Api) -> None:
    for role in ("insurer", "approval_office", "admin"):
        refused = api.client.get(
            URL, params={"capacity": 5, "as_of": "2025-12-31"}, headers=api.headers(api.key(role))
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
    assert api.client.get(URL, params={"capacity": 5}).status_code == 401


def test_plan_capacity_share_and_seed(api: Api) -> None:
    regulator = api.headers(api.key("regulator", department="应急管理局"))
    params = {"capacity": 12, "as_of": "2025-12-31", "random_share": 0.25, "seed": 4}
    first = api.client.get(URL, params=params, headers=regulator)
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["plan"]) == 12 and (body["ranked"], body["random"]) == (9, 3)
    assert [p["picked"] for p in body["plan"]].count("random") == 3
    assert body["versions"]["plan_policy"].startswith("2026.1")
    assert all(p["why"] for p in body["plan"])
    again = api.client.get(URL, params=params, headers=regulator).json()
    assert again["plan"] == body["plan"]
    region = body["plan"][0]["region_code"][:4]
    local = api.client.get(URL, params={**params, "region": region}, headers=regulator).json()
    assert all(p["region_code"].startswith(region) for p in local["plan"])


def test_bad_input_is_a_json_4xx(api: Api) -> None:
    regulator = api.headers(api.key("regulator", department="应急管理局"))
    cases = [
        {"capacity": 5, "as_of": "2025-12-31", "region": "990000"},  # no enterprise there
        {"capacity": 5, "as_of": "2025-13-01"},
        {"capacity": 5, "as_of": "yesterday"},
        {"capacity": 0, "as_of": "2025-12-31"},
        {"capacity": 5, "as_of": "2025-12-31", "random_share": 2},
        {"capacity": 5, "as_of": "2025-12-31", "region": "14x"},
        {"as_of": "2025-12-31"},
    ]
    for params in cases:
        r = api.client.get(URL, params=params, headers=regulator)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["detail"]
    unknown = api.client.get(URL, params=cases[0], headers=regulator).json()
    assert "no enterprise known on 2025-12-31 in region 990000" in unknown["detail"]


PREVENTION = "/v1/plans/prevention"


def _book(api: Api, n: int) -> list[dict[str, object]]:
    """A quoted book of the province's first ``n`` enterprises, premiums 1,000 CNY apart."""
    codes = api.session.execute(
        text("SELECT DISTINCT uscc FROM enterprises ORDER BY uscc LIMIT :n"), {"n": n}
    )
    return [{"uscc": c, "premium_cny": 20_000.0 + 1_000 * i} for i, (c,) in enumerate(codes)]


def test_insurers_plan_prevention_for_their_book(api: Api) -> None:
    insurer = api.headers(api.key("insurer"))
    body = {"book": _book(api, 40), "capacity": 6, "as_of": "2025-12-31"}
    first = api.client.post(PREVENTION, json=body, headers=insurer)
    assert first.status_code == 200, first.text
    plan = first.json()
    assert 0 < len(plan["plan"]) <= 6 and plan["summary"]["enterprises_in_book"] == 40
    assert plan["summary"]["services_planned"] <= plan["summary"]["services_affordable"]
    assert {p["uscc"] for p in plan["plan"]} <= {r["uscc"] for r in body["book"]}
    avoided = [p["loss_avoided_cny"] for p in plan["plan"]]
    assert avoided == sorted(avoided, reverse=True) and plan["versions"]["plan_policy"]
    assert api.client.post(PREVENTION, json=body, headers=insurer).json() == plan
    regulator = api.headers(api.key("regulator", department="应急管理局"))
    refused = api.client.post(PREVENTION, json=body, headers=regulator)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"


def test_a_bad_book_is_refused_whole(api: Api) -> None:
    insurer = api.headers(api.key("insurer"))
    book = _book(api, 5)
    unknown = [*book, {"uscc": "91110000000000000X", "premium_cny": 1.0}]
    cases = [
        ({"book": unknown, "capacity": 3, "as_of": "2025-12-31"}, "91110000000000000X"),
        ({"book": [{**book[0], "premium_cny": -1}], "capacity": 3}, "premium_cny"),
        ({"book": book, "capacity": 0}, "capacity"),
        ({"book": [], "capacity": 3}, "book"),
        ({"book": book, "capacity": 3, "as_of": "2025-02-30"}, "as_of"),
    ]
    for body, named in cases:
        r = api.client.post(PREVENTION, json=body, headers=insurer)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/json")
        assert named in r.json()["detail"], r.text
