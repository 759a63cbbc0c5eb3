"""Premium quotes over HTTP: one enterprise and a batch, each factor with its reason, recorded in
the ledger and reproduced by replay; bad input named by field and row."""

from __future__ import annotations

import pytest

from models.tariff import load_tariff
from tests.service.conftest import AS_OF, Api

START = "2026-04-01"


@pytest.fixture
def amount() -> float:
    return load_tariff().insurance.min_insured_amount_cny


def test_a_quote_prices_with_reasons_and_replays(api: Api, amount: float) -> None:
    p = api.province
    h = api.headers(api.key("insurer"))
    body = {
        "uscc": p.listed,
        "insured_amount_cny": amount,
        "period_start": START,
        "as_of": str(AS_OF),
    }
    r = api.client.post("/v1/premiums/quotes", json=body, headers=h)
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["premium_cny"] > 0 and q["factors"] and all(f["zh"] and f["en"] for f in q["factors"])
    assert p.entry_id in q["listings"] and q["versions"]["tariff"].startswith(q["tariff_version"])
    regulator = api.headers(api.key("regulator"))
    replay = api.client.post(f"/v1/decisions/{q['decision_id']}/replay", headers=regulator)
    assert replay.status_code == 200 and replay.json()["reproduced"], replay.text
    recorded = api.client.get(f"/v1/decisions/{q['decision_id']}", headers=h).json()
    assert recorded["kind"] == "quote" and recorded["inputs"]["quotes"][0]["uscc"] == p.listed


def test_a_batch_is_priced_together_and_bad_rows_are_named(api: Api, amount: float) -> None:
    p = api.province
    h = api.headers(api.key("insurer"))
    rows = [
        {"uscc": u, "insured_amount_cny": amount, "period_start": START, "as_of": str(AS_OF)}
        for u in (p.listed, p.unlisted)
    ]
    r = api.client.post("/v1/premiums/quotes/batch", json={"quotes": rows}, headers=h)
    assert r.status_code == 200, r.text
    assert [q["uscc"] for q in r.json()["quotes"]] == [p.listed, p.unlisted]
    one = api.client.post("/v1/premiums/quotes", json=rows[1], headers=h).json()
    assert one["premium_cny"] == pytest.approx(r.json()["quotes"][1]["premium_cny"], rel=1e-9)
    low = [rows[0], {**rows[1], "insured_amount_cny": amount / 2}]
    bad = api.client.post("/v1/premiums/quotes/batch", json={"quotes": low[1:]}, headers=h)
    assert bad.status_code == 422 and "row 1: insured_amount_cny" in bad.json()["detail"]
    unknown = {**rows[0], "uscc": "91350200MA31E12PXF"}
    missing = api.client.post("/v1/premiums/quotes", json=unknown, headers=h)
    assert missing.status_code == 404 and "91350200MA31E12PXF" in missing.json()["detail"]
    mine = api.headers(api.key("enterprise", uscc=p.listed))
    assert api.client.post("/v1/premiums/quotes", json=rows[0], headers=mine).status_code == 200
    assert api.client.post("/v1/premiums/quotes", json=rows[1], headers=mine).status_code == 403
    office = api.headers(api.key("approval_office"))
    assert api.client.post("/v1/premiums/quotes", json=rows[0], headers=office).status_code == 403


def test_a_batch_quotes_the_good_rows_and_refuses_the_bad_ones_each(
    api: Api, amount: float
) -> None:
    p = api.province
    h = api.headers(api.key("insurer"))
    good = {"uscc": p.listed, "insured_amount_cny": amount, "period_start": START}
    rows = [
        good,
        {**good, "insured_amount_cny": amount / 2},
        {**good, "uscc": "91350200MA31E12PXF"},
        {**good, "uscc": p.unlisted, "as_of": "2026-05-01"},
        {**good, "uscc": p.unlisted},
    ]
    r = api.client.post("/v1/premiums/quotes/batch", json={"quotes": rows}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rows"] == [1, 5] and [q["uscc"] for q in out["quotes"]] == [p.listed, p.unlisted]
    assert [(x["row"], x["error"]) for x in out["refused"]] == [
        (2, "bad_quote"),
        (3, "not_found"),
        (4, "bad_quote"),
    ]
    assert "insured_amount_cny" in out["refused"][0]["detail"]
    assert "as_of" in out["refused"][2]["detail"]
    assert out["premium_cny"] == pytest.approx(sum(q["premium_cny"] for q in out["quotes"]))
    regulator = api.headers(api.key("regulator"))
    recorded = api.client.get(f"/v1/decisions/{out['decision_id']}", headers=h).json()
    assert [x["row"] for x in recorded["inputs"]["refused"]] == [2, 3, 4]
    replay = api.client.post(f"/v1/decisions/{out['decision_id']}/replay", headers=regulator)
    assert replay.status_code == 200 and replay.json()["reproduced"], replay.text
    # malformed as a whole: 422, nothing quoted
    shape = api.client.post(
        "/v1/premiums/quotes/batch", json={"quotes": [good, {"uscc": 5}]}, headers=h
    )
    assert shape.status_code == 422 and shape.json()["error"] == "bad_input"
    none = api.client.post("/v1/premiums/quotes/batch", json={"quotes": rows[1:3]}, headers=h)
    assert none.status_code == 422
    assert "row 1: insured_amount_cny" in none.json()["detail"]
    assert "row 2: uscc: not a known enterprise" in none.json()["detail"]
