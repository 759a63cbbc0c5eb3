"""The insurer desk over HTTP, on SQLite and PostgreSQL: a renewal book with bad rows quotes the
rest and lists the refused rows with their reasons; the download carries every factor in both
languages with the accident ids, the previous and uncapped rates, the limit applied and the
totals; the rating worksheet; a renewal cap that the band floor overrode says so."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from models.tariff import load_tariff
from service.engine.quote_book import limit_applied
from service.store.tables import Decision
from tests.service.conftest import AS_OF, ORIGIN, Api, csrf_of, sign_in

START = "2026-04-01"


def _desk(api: Api) -> str:
    signed = sign_in(api, api.key("insurer"), next="/quotes")
    assert signed.status_code == 303 and signed.headers["location"] == "/quotes"
    return csrf_of(api)


def _with_accident(api: Api) -> tuple[str, str]:
    """An enterprise of the seeded province with an accident in the year before the period."""
    row = api.session.execute(
        text(
            "SELECT uscc, accident_id FROM accidents WHERE occurred_on >= '2025-04-01' "
            "AND occurred_on < '2026-03-31' ORDER BY uscc LIMIT 1"
        )
    ).first()
    assert row is not None
    return row[0], row[1]


def _upload(api: Api, token: str, book: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {"csrf": token, "period_start": START, "as_of": AS_OF.isoformat(), **fields}
    files = {"file": ("renewal.csv", book.encode("utf-8-sig"), "text/csv")}
    return api.client.post("/quotes", data=data, files=files, headers={"Origin": ORIGIN})


def test_a_book_with_bad_rows_quotes_the_rest_and_downloads_the_trail(api: Api) -> None:
    token = _desk(api)
    p = api.province
    hit, accident = _with_accident(api)
    book = "\n".join(
        [
            "uscc,insured_amount_cny,headcount,previous_rate",
            f"{p.listed},500000,,",
            f"{p.unlisted},100000,,",  # below the minimum
            "91350200MA31E12PXF,,,",  # unknown
            f"{hit},,,1.2",
            f"{p.unlisted},,twelve,",  # not a number
        ]
    )
    r = _upload(api, token, book, lang="en")
    assert r.status_code == 200, r.text
    shown = html.unescape(r.text)
    assert re.findall(r'class="refused" data-row="(\d+)"', r.text) == ["3", "4", "6"]
    assert "below the minimum" in shown and "not a known enterprise" in shown
    assert "headcount: 'twelve' is not a number" in shown
    assert re.findall(r'class="quote" data-uscc="[^"]+" data-row="(\d+)"', r.text) == ["2", "5"]
    decision_id = re.search(r'id="decision-id">([0-9a-f]{32})<', r.text).group(1)  # type: ignore[union-attr]
    row = api.session.get(Decision, decision_id)
    assert row is not None and row.kind == "quote" and len(row.inputs["quotes"]) == 2
    assert [x["row"] for x in row.inputs["refused"]] == [3, 4, 6]
    got = api.client.get(f"/quotes/books/{decision_id}.csv")
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    quotes = [t for t in table if t["row_type"] == "quote"]
    refused = [t for t in table if t["row_type"] == "refused"]
    total = [t for t in table if t["row_type"] == "total"]
    assert [q["uscc"] for q in quotes] == [p.listed, hit] and len(refused) == 3
    factor_columns = [c for c in table[0] if c.endswith("_multiplier")]
    assert "model_risk_multiplier" in factor_columns and "listing_multiplier" in factor_columns
    for code in (c.removesuffix("_multiplier") for c in factor_columns):
        assert all(q[f"{code}_zh"] and q[f"{code}_en"] for q in quotes)
    assert accident in quotes[1]["accident_ids"] and accident in quotes[1]["accident_experience_zh"]
    assert quotes[1]["previous_rate"] == "1.2" and float(quotes[1]["uncapped_rate"]) > 0
    assert quotes[1]["limit_applied"] and quotes[1]["limit_en"]
    premiums = sum(float(q["premium_cny"]) for q in quotes)
    assert float(total[0]["premium_cny"]) == pytest.approx(premiums, abs=0.01)
    assert refused[0]["refused_error"] == "bad_quote" and refused[1]["refused_error"] == "not_found"
    xlsx = api.client.get(f"/quotes/books/{decision_id}.xlsx")
    cells = list(load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0].values)
    assert cells[0][0] == "row_type" and len(cells) == 1 + 2 + 3 + 1


def test_a_book_that_cannot_be_read_or_quoted_records_nothing(api: Api) -> None:
    token = _desk(api)
    count = "SELECT count(*) FROM decisions"
    before = api.session.scalar(text(count))
    bad = _upload(api, token, "uscc,premium\nX,1\n", lang="en")
    assert bad.status_code == 422 and "unknown column 'premium'" in html.unescape(bad.text)
    none = _upload(api, token, "uscc\n91350200MA31E12PXF\n", lang="en")
    assert none.status_code == 422 and "row 2: uscc: not a known enterprise" in none.text
    no_start = _upload(api, token, f"uscc\n{api.province.listed}\n", period_start="")
    assert no_start.status_code == 422 and "period_start" in no_start.text
    assert api.session.scalar(text(count)) == before


def test_the_worksheet_and_a_renewal_cap_overridden_by_the_band_floor(api: Api) -> None:
    _desk(api)
    hit, accident = _with_accident(api)
    params = {"uscc": hit, "period_start": START, "as_of": AS_OF.isoformat(), "lang": "en"}
    sheet = api.client.get("/quotes/worksheet", params={**params, "previous_rate": "0.01"})
    assert sheet.status_code == 200, sheet.text
    assert "@media print" in sheet.text and 'id="ws-expected"' in sheet.text
    assert 'id="ws-credibility"' in sheet.text and accident in sheet.text
    limit = re.search(r'id="ws-limit" data-limit="([a-z_]+)">([^<]+)<', sheet.text)
    assert limit is not None and limit.group(1) == "band_over_renewal"
    assert "overridden by the band's floor" in html.unescape(limit.group(2))
    zh = api.client.get("/quotes/worksheet", params={**params, "lang": "zh"})
    assert "费率计算表" in zh.text and 'data-code="model_risk"' in zh.text
    bad = api.client.get("/quotes/worksheet", params={**params, "insured_amount_cny": "10"})
    assert bad.status_code == 422 and "insured_amount_cny" in bad.text


def test_limit_words() -> None:
    tariff = load_tariff()
    r = tariff.renewal
    assert r is not None
    q = {
        "base_rate": 1.0,
        "product": 1.5,
        "product_banded": 1.5,
        "band": (0.7, 1.6),
        "rate_banded": 1.5,
        "previous_rate": 1.0,
        "rate": 1.3,
        "renewal_capped": True,
    }
    capped = limit_applied(q, 0.3, 0.3)
    assert capped.code == "renewal_cap" and "renewal cap +30%" in capped.en
    floor = limit_applied({**q, "previous_rate": 0.1, "rate": 0.7, "rate_banded": 1.5}, 0.3, 0.3)
    assert floor.code == "band_over_renewal" and "band's floor" in floor.en
    clear = limit_applied(
        {**q, "renewal_capped": False, "previous_rate": None, "rate": 1.5}, 0.3, 0.3
    )
    assert clear.code == "none"
    banded = {**q, "product": 2.0, "product_banded": 1.6, "renewal_capped": False, "rate": 1.6}
    assert limit_applied(banded, 0.3, 0.3).code == "band_cap"


def test_other_roles_get_a_403_page(api: Api) -> None:
    office = api.key("approval_office")
    page = api.client.get("/quotes?lang=en", headers=api.headers(office))
    assert page.status_code == 403 and "This desk is for insurers" in page.text
