"""Bad input over HTTP: one error shape, the right codes, never a 500 — each defect users found,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from models.tariff import load_tariff
from service.store.tables import Decision
from tests.service.conftest import AS_OF, Api

JSON = {"Content-Type": "application/json"}

START = "2026-04-01"


def _quote(api: Api, **fields: object) -> dict[str, object]:
    amount = load_tariff().insurance.min_insured_amount_cny
    body = {"uscc": api.province.listed, "insured_amount_cny": amount, "period_start": START}
    return {**body, "as_of": str(AS_OF), **fields}


def _refused(r, field: str, status: int = 422) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail"} and field in body["detail"], body


def test_huge_offsets_and_limits_are_422(api: Api) -> None:
    h = api.headers(api.key("regulator"))
    for query in (f"offset={2**63}", f"offset={2**64}", "offset=-1", f"limit={2**63}", "limit=0"):
        r = api.client.get(f"/v1/registry/entries?{query}", headers=h)
        _refused(r, query.split("=")[0])


@pytest.mark.parametrize("day", ["0001-01-01", "9999-01-01", "1899-12-31", "2101-01-01"])
def test_quote_dates_outside_1900_2100_are_422(api: Api, day: str) -> None:
    h = api.headers(api.key("insurer"))
    r = api.client.post("/v1/premiums/quotes", json=_quote(api, period_start=day), headers=h)
    _refused(r, "period_start")
    r = api.client.post("/v1/premiums/quotes", json=_quote(api, as_of=day), headers=h)
    _refused(r, "as_of")


@pytest.mark.parametrize("amount", ["1e308", "1e11", "Infinity", "NaN", "-Infinity"])
def test_insured_amounts_are_finite_and_bounded(api: Api, amount: str) -> None:
    h = {**api.headers(api.key("insurer")), **JSON}
    body = json.dumps(_quote(api, insured_amount_cny=0)).replace(": 0,", f": {amount},")
    r = api.client.post("/v1/premiums/quotes", content=body, headers=h)
    _refused(r, "insured_amount_cny")
    with api.session.begin_nested():  # nothing reached the ledger
        assert not api.session.scalar(select(func.count()).where(Decision.kind == "quote"))


def test_quote_input_errors_are_422(api: Api) -> None:
    h = api.headers(api.key("insurer"))
    low = _quote(api, insured_amount_cny=1.0)
    _refused(api.client.post("/v1/premiums/quotes", json=low, headers=h), "insured_amount_cny")
    late = _quote(api, as_of=START, period_start=str(AS_OF))
    _refused(api.client.post("/v1/premiums/quotes", json=late, headers=h), "as_of")
    honours = _quote(api, honours="national")
    _refused(api.client.post("/v1/premiums/quotes", json=honours, headers=h), "honours")


@pytest.mark.parametrize(
    "value", ["0", "1700000000", "2026-03-31T00:00:00", "20260331", "0000-00-00"]
)
def test_dates_are_iso_days_only(api: Api, value: str) -> None:
    h = api.headers(api.key("regulator"))
    r = api.client.get("/v1/registry/entries", params={"as_of": value}, headers=h)
    _refused(r, "as_of")
    r = api.client.get(
        f"/v1/enterprises/{api.province.listed}/score", params={"as_of": value}, headers=h
    )
    _refused(r, "as_of")
    office = api.headers(api.key("approval_office"))
    check = {"usccs": [api.province.listed], "domain": "bidding", "as_of": value}
    _refused(api.client.post("/v1/registry/checks", json=check, headers=office), "as_of")
    number = {**check, "as_of": 0}
    _refused(api.client.post("/v1/registry/checks", json=number, headers=office), "as_of")


def test_nul_bytes_are_refused_before_the_database(api: Api) -> None:
    p = api.province
    regulator = api.headers(api.key("regulator", department=p.department))
    office = api.headers(api.key("approval_office"))
    admin = api.headers(api.key("admin"))
    check = {"usccs": ["9114010\x00MA87M07D9C"], "domain": "bidding"}
    _refused(api.client.post("/v1/registry/checks", json=check, headers=office), "usccs")
    items = {"items": [{"uscc": p.listed, "ref": "a\x00b"}], "domain": "bidding"}
    _refused(api.client.post("/v1/registry/checks", json=items, headers=office), "ref")
    action = {"action": "correct", "reason": "typo\x00", "details": {}}
    url = f"/v1/registry/entries/{p.entry_id}/actions"
    _refused(api.client.post(url, json=action, headers=regulator), "reason")
    action = {"action": "correct", "reason": "typo", "details": {"note": "a\x00"}}
    _refused(api.client.post(url, json=action, headers=regulator), "details")
    action = {"action": "correct", "reason": "typo", "details": {"a\x01": 1}}
    _refused(api.client.post(url, json=action, headers=regulator), "details")
    key = {"role": "insurer", "name": "insurer\x00"}
    _refused(api.client.post("/v1/keys", json=key, headers=admin), "name")
    key = {"role": "enterprise", "name": "e", "uscc": p.listed[:-1] + "\x00"}
    _refused(api.client.post("/v1/keys", json=key, headers=admin), "uscc")
    quote = _quote(api, uscc=p.listed[:-1] + "\x00")
    _refused(api.client.post("/v1/premiums/quotes", json=quote, headers=regulator), "uscc")
    # in paths and queries
    _refused(
        api.client.get("/v1/registry/entries", params={"uscc": "\x00" * 18}, headers=regulator),
        "uscc",
    )
    _refused(api.client.get("/v1/decisions/a%00b", headers=regulator), "path")
    _refused(api.client.delete("/v1/keys/a%00b", headers=admin), "path")
    _refused(
        api.client.post(
            "/v1/registry/entries/a%00/actions",
            json={"action": "correct", "reason": "r"},
            headers=regulator,
        ),
        "path",
    )


def test_free_text_keeps_tabs_and_newlines(api: Api) -> None:
    p = api.province
    regulator = api.headers(api.key("regulator", department=p.department))
    action = {"action": "correct", "reason": "line one\n\tline two\r\n", "details": {}}
    r = api.client.post(
        f"/v1/registry/entries/{p.entry_id}/actions", json=action, headers=regulator
    )
    assert r.status_code != 422 or "reason" not in r.json()["detail"], r.text


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused_in_details(api: Api, value: str) -> None:
    p = api.province
    regulator = api.headers(api.key("regulator", department=p.department))
    body = '{"action": "correct", "reason": "r", "details": {"x": [1, {"y": VALUE}]}}'
    r = api.client.post(
        f"/v1/registry/entries/{p.entry_id}/actions",
        content=body.replace("VALUE", value),
        headers={**regulator, **JSON},
    )
    _refused(r, "details")


def test_405_says_which_methods_are_allowed(api: Api) -> None:
    h = api.headers(api.key("regulator"))
    r = api.client.put("/v1/registry/checks", headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "POST", r.headers
    assert r.json()["error"] == "method_not_allowed"
    r = api.client.post("/v1/registry/entries", headers=h)
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_bodies_past_the_limit_are_413(api: Api) -> None:
    limit = api.app.state.limits.max_body_bytes
    h = api.headers(api.key("approval_office"))
    big = b'{"usccs": ["' + b"9" * limit + b'"], "domain": "bidding"}'
    r = api.client.post("/v1/registry/checks", content=big, headers={**h, **JSON})
    _refused(r, "bytes", 413)
    assert r.json()["error"] == "too_large"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = api.client.post("/v1/registry/checks", content=chunks(), headers={**h, **JSON})
    _refused(r, "bytes", 413)
