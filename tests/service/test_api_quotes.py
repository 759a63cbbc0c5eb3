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
    bad = api.client.post("/v1/premiums/quotes/batch", json={"quotes": low}, headers=h)
    assert bad.status_code in (400, 422) and "row 2: insured_amount_cny" in bad.json()["detail"]
    unknown = {**rows[0], "uscc": "91350200MA31E12PXF"}
    missing = api.client.post("/v1/premiums/quotes", json=unknown, headers=h)
    assert missing.status_code == 404 and "91350200MA31E12PXF" in missing.json()["detail"]
    mine = api.headers(api.key("enterprise", uscc=p.listed))
    assert api.client.post("/v1/premiums/quotes", json=rows[0], headers=mine).status_code == 200
    assert api.client.post("/v1/premiums/quotes", json=rows[1], headers=mine).status_code == 403
    office = api.headers(api.key("approval_office"))
    assert api.client.post("/v1/premiums/quotes", json=rows[0], headers=office).status_code == 403
