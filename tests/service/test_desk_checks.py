"""The approval-office desk over HTTP, on SQLite and PostgreSQL: find by name (prefix and
contains), check one code and an uploaded list (CSV and XLSX, with references) through the API's
own composition into the decision ledger, download the answers as recorded, refuse a bad file
whole (naming row and column, recording nothing), and 403 for other roles."""

from __future__ import annotations

import csv
import html
import io
import re

from openpyxl import Workbook, load_workbook
from sqlalchemy import bindparam, func, select, text

from service.store.tables import Decision
from tests.service.conftest import AS_OF, ORIGIN, Api, csrf_of, sign_in


def _desk(api: Api, role: str = "approval_office") -> str:
    signed = sign_in(api, api.key(role), next="/checks")
    assert signed.status_code == 303 and signed.headers["location"] == "/checks"
    return csrf_of(api)


def _codes(api: Api, n: int) -> list[str]:
    rows = api.session.execute(text("SELECT DISTINCT uscc FROM enterprises ORDER BY uscc"))
    return [c for (c,) in rows][:n]


def _decisions(api: Api) -> int:
    return api.session.scalar(select(func.count()).select_from(Decision)) or 0


def _post(api: Api, token: str, data: dict[str, str], files: dict | None = None):  # type: ignore[no-untyped-def, type-arg]
    fields = {"csrf": token, "domain": "bidding", "as_of": AS_OF.isoformat(), **data}
    return api.client.post("/checks", data=fields, files=files, headers={"Origin": ORIGIN})


def test_lookup_by_name_prefix_and_contains(api: Api) -> None:
    _desk(api)
    name = api.session.scalar(
        text("SELECT name FROM enterprises WHERE uscc = :u"), {"u": api.province.listed}
    )
    assert name and len(name) >= 4
    prefix = api.client.get("/checks", params={"q": name[:3], "mode": "prefix"})
    assert prefix.status_code == 200 and api.province.listed in prefix.text
    found = re.findall(r'class="candidate" data-uscc="([^"]+)"', prefix.text)
    names = api.session.execute(
        text("SELECT uscc, name FROM enterprises WHERE uscc IN :c").bindparams(
            bindparam("c", expanding=True)
        ),
        {"c": found},
    ).all()
    assert all(n.startswith(name[:3]) for _, n in names)
    inner = name[1:4]
    contains = api.client.get("/checks", params={"q": inner, "mode": "contains", "lang": "en"})
    assert api.province.listed in contains.text and "Find by name" in contains.text
    short = api.client.get("/checks", params={"q": "厦"})
    assert "at least 2 characters" in short.text
    none = api.client.get("/checks", params={"q": "没有这样的企业名称"})
    assert 'id="found-none"' in none.text


def test_check_one_code_is_recorded_as_the_api_records_it(api: Api) -> None:
    token = _desk(api)
    before = _decisions(api)
    r = _post(api, token, {"uscc": api.province.listed.lower()})
    assert r.status_code == 200
    assert 'data-status="restricted"' in r.text and "受限" in r.text
    decision_id = re.search(r'id="decision-id">([0-9a-f]{32})<', r.text)
    assert decision_id is not None
    row = api.session.get(Decision, decision_id.group(1))
    assert row is not None and row.kind == "check" and _decisions(api) == before + 1
    assert row.inputs["usccs"] == [api.province.listed] and row.inputs["domain"] == "bidding"
    # the API asked the same question gives the same answer
    key = api.key("approval_office")
    body = {"usccs": [api.province.listed], "domain": "bidding", "as_of": AS_OF.isoformat()}
    same = api.client.post("/v1/registry/checks", json=body, headers=api.headers(key)).json()
    assert same["results"] == row.output["results"]


def test_upload_csv_with_refs_and_download_what_was_recorded(api: Api) -> None:
    token = _desk(api)
    codes = _codes(api, 40)
    codes[5] = api.province.listed
    rows = [("uscc", "ref")] + [(c, f"申请-{i}") for i, c in enumerate(codes)]
    rows += [("91350200MA31E12PXF", "unknown"), ("NOT-A-CODE", "bad")]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    files = {"file": ("codes.csv", buffer.getvalue().encode("utf-8-sig"), "text/csv")}
    r = _post(api, token, {}, files)
    assert r.status_code == 200, r.text
    statuses = re.findall(r'class="result" data-uscc="[^"]+" data-status="([a-z_]+)"', r.text)
    assert len(statuses) == 42
    assert statuses[5] == "restricted" and statuses[-2:] == ["not_found", "invalid"]
    assert re.search(r'id="count-restricted">1<', r.text)
    decision_id = re.search(r'id="decision-id">([0-9a-f]{32})<', r.text).group(1)  # type: ignore[union-attr]
    got = api.client.get(f"/checks/results/{decision_id}.csv")
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in got.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert [t["uscc"] for t in table[:40]] == codes
    assert table[5]["status"] == "restricted" and table[5]["status_zh"] == "受限"
    assert table[5]["entries"].startswith(api.province.entry_id) and table[5]["measures_basis"]
    assert table[0]["ref"] == "申请-0" and table[-1]["status"] == "invalid"
    assert {t["decision_id"] for t in table} == {decision_id}
    xlsx = api.client.get(f"/checks/results/{decision_id}.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][:3] == ("row", "ref", "uscc") and len(cells) == 43
    # another approval office's key cannot read this one's answers
    api.client.cookies.clear()
    other = api.key("approval_office")
    denied = api.client.get(f"/checks/results/{decision_id}.csv", headers=api.headers(other))
    assert denied.status_code == 404


def test_upload_xlsx(api: Api) -> None:
    token = _desk(api)
    book = Workbook()
    sheet = book.active
    sheet.append(["USCC"])
    for code in _codes(api, 5):
        sheet.append([code])
    data = io.BytesIO()
    book.save(data)
    files = {"file": ("codes.xlsx", data.getvalue(), "application/octet-stream")}
    r = _post(api, token, {}, files)
    assert r.status_code == 200 and r.text.count('class="result"') == 5


def test_a_bad_file_is_refused_whole_naming_row_and_column(api: Api) -> None:
    token = _desk(api)
    before = _decisions(api)
    cases = {
        ("codes.csv", b"code,ref\n91350200MA31E12PXF,x\n"): "missing column uscc",
        ("codes.csv", b"uscc,colour\n91350200MA31E12PXF,red\n"): "unknown column 'colour'",
        ("codes.csv", b"uscc\n91350200MA31E12PXF\n\n,\n91350200MA31E12PXF\n"): "column uscc",
        ("codes.txt", b"uscc\n"): "a .csv or .xlsx file is needed",
        ("codes.xlsx", b"not a workbook"): "not an XLSX workbook",
        ("codes.csv", b"uscc\n"): "no rows under the header",
    }
    for (name, content), expected in cases.items():
        r = _post(api, token, {"lang": "en"}, {"file": (name, content, "text/csv")})
        assert r.status_code == 422, (name, r.text)
        shown = html.unescape(r.text)
        assert "nothing was recorded" in shown and expected in shown, (name, shown)
    blank_row = _post(api, token, {}, {"file": ("c.csv", b"uscc\nX\n\n", "text/csv")})
    assert blank_row.status_code == 200  # a trailing empty line is no row
    assert _decisions(api) == before + 1
    bad_day = _post(api, token, {"uscc": api.province.listed, "as_of": "2026-02-30"})
    assert bad_day.status_code == 422 and "as_of" in bad_day.text


def test_other_roles_get_a_403_page_and_forms_from_elsewhere_are_refused(api: Api) -> None:
    insurer = api.key("insurer")
    page = api.client.get("/checks?lang=en", headers=api.headers(insurer))
    assert page.status_code == 403 and "This desk is for approval offices" in page.text
    assert page.headers["content-type"].startswith("text/html")
    token = _desk(api)
    r = api.client.post(
        "/checks",
        data={"csrf": token, "uscc": api.province.listed, "domain": "bidding"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    nobody = api.client.__class__(api.app, base_url=ORIGIN)
    assert nobody.get("/checks", follow_redirects=False).status_code == 303


def test_names_are_indexed_for_the_lookup(api: Api) -> None:
    """Migration 0008: a B-tree on the name everywhere; on PostgreSQL a trigram GIN index."""
    found = {
        row[0]: row[1]
        for row in api.session.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'enterprises' AND schemaname = current_schema()"
            )
            if api.backend == "postgresql"
            else text("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'enterprises'")
        )
    }
    assert "ix_enterprises_name" in found
    if api.backend == "postgresql":
        assert "gin_trgm_ops" in found["ix_enterprises_name_trgm"]
