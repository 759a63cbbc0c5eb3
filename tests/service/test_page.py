"""The enterprise page over HTTP: sign-in by cookie, Chinese by default and English on request,
an enterprise sees only itself, regulators see any, and the page's score is in the ledger."""

from __future__ import annotations

import re

import pytest

from service.store.tables import Decision
from tests.service.conftest import AS_OF, Api, sign_in

pytestmark = pytest.mark.parametrize("api", ["sqlite"], indirect=True)


def test_sign_in_then_the_page_in_chinese_and_english(api: Api) -> None:
    p = api.province
    page = f"/enterprises/{p.listed}?as_of={AS_OF}"
    first = api.client.get(page, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
    wrong = sign_in(api, "sc_nope_nope", next=page)
    assert wrong.status_code == 401 and "密钥无效" in wrong.text
    token = api.key("enterprise", uscc=p.listed)
    signed = sign_in(api, token, next=page)
    assert signed.status_code == 303 and signed.headers["location"] == page
    assert "httponly" in signed.headers["set-cookie"].lower()
    zh = api.client.get(page)
    assert zh.status_code == 200 and 'lang="zh-CN"' in zh.text
    assert "安全信用分" in zh.text and "失信联合惩戒名单" in zh.text and p.entry_id in zh.text
    assert re.search(r'id="grade"><span class="g">D</span>', zh.text)
    assert "最早移出日期" in zh.text and "2027-02-05" in zh.text
    en = api.client.get(page + "&lang=en")
    assert "What raised and lowered the score" in en.text and "Earliest removal" in en.text
    decision_id = re.search(r'id="decision-id">([0-9a-f]{32})<', en.text)
    assert decision_id is not None
    row = api.session.get(Decision, decision_id.group(1))
    assert row is not None and row.subject == p.listed and row.kind == "score"


def test_an_enterprise_page_is_its_own_and_regulators_see_any(api: Api) -> None:
    p = api.province
    mine = api.key("enterprise", uscc=p.listed)
    other = api.client.get(f"/enterprises/{p.unlisted}", headers=api.headers(mine))
    assert other.status_code == 403 and p.unlisted not in other.text
    regulator = api.key("regulator")
    seen = api.client.get(f"/enterprises/{p.unlisted}?lang=en", headers=api.headers(regulator))
    assert seen.status_code == 200 and "Not on any list on this date." in seen.text
    insurer = api.key("insurer")
    assert (
        api.client.get(f"/enterprises/{p.unlisted}", headers=api.headers(insurer)).status_code
        == 403
    )
    unknown = api.client.get("/enterprises/91350200MA31E12PXF", headers=api.headers(regulator))
    assert unknown.status_code == 404


def test_sign_in_never_redirects_off_the_site(api: Api) -> None:
    token = api.key("regulator")
    r = sign_in(api, token, next="//evil.example/x")
    assert r.status_code == 303 and r.headers["location"] == "/registry?lang=zh"  # its queue
