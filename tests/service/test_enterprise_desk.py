"""The enterprise desk on SQLite and PostgreSQL: pending notices with their objection deadline
(not "on no list"), repair conditions met and not met with the open records, the objection
filed from the page with an attachment (its hash in the chain row, the file for the enterprise
and the deciding department only), and refused filings that change nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import func, select

from registry import chain
from registry.evaluate import load_history
from registry.procedure import actions_of
from registry.tables import Action, Attachment, Entry
from tests.conftest import Clock
from tests.service.conftest import AS_OF, PUBLISHED, Api
from tests.service.desks import (
    JPEG,
    PDF,
    PNG,
    post,
    proposals,
    reads_in_english,
    signed,
    token_of,
    walk,
)

NOTIFIED = dt.date(2026, 3, 2)  # a Monday: the objection window runs 15 working days


def _notified(api: Api, frozen: Clock) -> Entry:
    frozen.day = NOTIFIED
    proposal = next(p for p in proposals(api) if p.uscc != api.province.listed)
    return walk(api, proposal, [("propose", NOTIFIED), ("notify", NOTIFIED)])


def _state(api: Api, entry_id: str) -> tuple[int, int, int]:
    s = api.session
    return (
        s.scalar(select(func.count()).where(Action.entry_id == entry_id)) or 0,
        s.scalar(select(func.count()).select_from(Attachment)) or 0,
        s.scalar(select(Entry.version).where(Entry.entry_id == entry_id)) or 0,
    )


def test_a_notified_entry_is_a_pending_notice_with_its_deadline(api: Api) -> None:
    p = api.province
    signed(api, api.key("enterprise", uscc=p.listed))
    inside = PUBLISHED[1] + dt.timedelta(days=3)  # notified, window open, not yet decided
    page = api.client.get(f"/enterprises/{p.listed}?as_of={inside}&lang=en")
    assert page.status_code == 200
    notice = re.search(rf'<tr class="notice" data-entry="{p.entry_id}">(.*?)</tr>', page.text, re.S)
    assert notice is not None, "the notified entry is not shown as pending"
    deadline = re.search(r'class="date deadline"><b>([0-9-]+)</b>', notice.group(1))
    assert deadline is not None and deadline.group(1) == "2026-01-27"  # 15 working days on
    assert "Not on any list on this date." not in page.text
    assert "notices are pending" in page.text
    reads_in_english(page.text)
    published = api.client.get(f"/enterprises/{p.listed}?as_of={AS_OF}&lang=en")
    assert 'class="notice"' not in published.text and "No pending notice" in published.text
    reads_in_english(published.text)
    reads_in_english(api.client.get(f"/enterprises/{p.listed}/report?as_of={AS_OF}&lang=en").text)


def test_repair_conditions_met_and_not_met_with_the_open_records(api: Api) -> None:
    p = api.province
    signed(api, api.key("enterprise", uscc=p.listed))
    early = api.client.get(f"/enterprises/{p.listed}?as_of={AS_OF}&lang=en").text
    conditions = dict(re.findall(r'data-name="(\w+)" data-met="(yes|no)"', early))
    assert conditions["term_served"] == "no" and conditions["commitment_signed"] == "no"
    assert re.search(r'class="apply-from">2027-02-05<', early)  # 12 months after publication
    later_day = dt.date(2027, 3, 1)
    later = api.client.get(f"/enterprises/{p.listed}?as_of={later_day}&lang=en").text
    assert dict(re.findall(r'data-name="(\w+)" data-met="(yes|no)"', later))["term_served"] == "yes"
    # the hazards still open past their deadline are named, as the history holds them
    with api.session.begin_nested():
        z = load_history(api.session, as_of=later_day, usccs=[p.listed]).hazards
    overdue = sorted(z.loc[z["rectified_on"].isna() & (z["due_on"] < later_day), "hazard_id"])
    hazards = re.search(
        r'data-name="hazards_rectified" data-met="(yes|no)">(.*?)</li>', later, re.S
    )
    assert hazards is not None
    assert hazards.group(1) == ("no" if overdue else "yes")
    for hazard_id in overdue:
        assert hazard_id in hazards.group(2)


def test_an_objection_with_an_attachment_is_filed_and_chained(api: Api, frozen: Clock) -> None:
    entry = _notified(api, frozen)
    signed(api, api.key("enterprise", uscc=entry.uscc))
    page = api.client.get(f"/enterprises/{entry.uscc}?lang=en")
    assert f'id="form-object-{entry.entry_id}"' in page.text
    answer = post(
        api,
        f"/enterprises/{entry.uscc}/filings",
        {
            "csrf": token_of(page.text),
            "lang": "en",
            "entry_id": entry.entry_id,
            "action": "object",
            "version": re.findall(r'name="version" value="(\d+)"', page.text)[0],
            "reason": "the accident was not ours",
            "grounds": "responsibility",
        },
        files=[
            ("attachments", ("证明.pdf", PDF, "application/pdf")),
            ("attachments", ("site.png", PNG, "image/png")),
        ],
    )
    assert answer.status_code == 303, answer.text
    shown = api.client.get(answer.headers["location"])
    assert 'id="filed"' in shown.text
    assert re.search(
        rf'class="filing" data-entry="{entry.entry_id}" data-action="object" data-answered="no"',
        shown.text,
    )
    row = actions_of(api.session, entry_id=entry.entry_id)[-1]
    assert row.action == "object" and row.acted_on == NOTIFIED  # dated by the server
    refs = row.details["attachments"]
    assert [r["sha256"] for r in refs] == [
        hashlib.sha256(PDF).hexdigest(),
        hashlib.sha256(PNG).hexdigest(),
    ]
    assert [r["media_type"] for r in refs] == ["application/pdf", "image/png"]
    assert row.hash == chain.row_hash(row)  # the hashes are in the chained content
    with api.session.begin_nested():
        assert chain.verify(api.session).ok
    # the file comes back whole for the enterprise, and for the deciding department
    url = f"/registry/entries/{entry.entry_id}/attachments/{refs[1]['sha256']}"
    assert url in shown.text
    mine = api.client.get(url)
    assert mine.status_code == 200 and mine.content == PNG
    assert (
        mine.headers["content-type"] == "image/png"
        and "attachment" in mine.headers["content-disposition"]
    )
    deciding = api.key("regulator", department=entry.department)
    assert api.client.get(url, headers=api.headers(deciding)).content == PNG
    for other in (
        api.key("regulator", department="another department"),
        api.key("enterprise", uscc=api.province.listed),
        api.key("insurer"),
    ):
        assert api.client.get(url, headers=api.headers(other)).status_code == 403


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (
            [("attachments", ("proof.pdf", b"just text, named as a PDF", "application/pdf"))],
            "not a PDF",
        ),
        ([("attachments", ("photo.pdf", PNG, "application/pdf"))], "holds image/png"),
        ([("attachments", ("big.pdf", PDF + b"0" * 5000, "application/pdf"))], "at most 4,096"),
    ],
    ids=["wrong-type", "extension-lies", "too-large"],
)
def test_a_refused_attachment_changes_nothing(
    api: Api, frozen: Clock, files: list, words: str
) -> None:
    limits = api.app.state.limits
    api.app.state.limits = limits.model_copy(update={"attachment_max_bytes": 4096})
    entry = _notified(api, frozen)
    signed(api, api.key("enterprise", uscc=entry.uscc))
    page = api.client.get(f"/enterprises/{entry.uscc}?lang=en")
    before = _state(api, entry.entry_id)
    data = {
        "csrf": token_of(page.text),
        "lang": "en",
        "entry_id": entry.entry_id,
        "action": "object",
        "reason": "no",
    }
    answer = post(api, f"/enterprises/{entry.uscc}/filings", data, files=files)
    assert answer.status_code in (413, 422)
    assert 'id="refused"' in answer.text and words in answer.text
    assert _state(api, entry.entry_id) == before


def test_a_filing_without_the_pages_token_or_from_elsewhere_changes_nothing(
    api: Api, frozen: Clock
) -> None:
    entry = _notified(api, frozen)
    signed(api, api.key("enterprise", uscc=entry.uscc))
    page = api.client.get(f"/enterprises/{entry.uscc}?lang=en")
    before = _state(api, entry.entry_id)
    data = {"lang": "en", "entry_id": entry.entry_id, "action": "object", "reason": "no"}
    files = [("attachments", ("proof.pdf", PDF, "application/pdf"))]
    url = f"/enterprises/{entry.uscc}/filings"
    for csrf, origin in (
        ("forged", "https://testserver"),
        (token_of(page.text), "https://evil.example"),
    ):
        answer = post(api, url, {**data, "csrf": csrf}, files=files, origin=origin)
        assert answer.status_code == 403 and "refused" in answer.text
    assert _state(api, entry.entry_id) == before


def test_only_the_enterprise_files_and_only_while_the_procedure_allows(
    api: Api, frozen: Clock
) -> None:
    entry = _notified(api, frozen)
    regulator = api.key("regulator", department=entry.department)
    signed(api, regulator)
    page = api.client.get(f"/enterprises/{entry.uscc}?lang=en")
    assert 'id="form-object-' not in page.text  # a regulator reads the desk, files nothing
    data = {
        "csrf": token_of(page.text),
        "entry_id": entry.entry_id,
        "action": "object",
        "reason": "x",
    }
    before = _state(api, entry.entry_id)
    assert post(api, f"/enterprises/{entry.uscc}/filings", data).status_code == 403
    signed(api, api.key("enterprise", uscc=entry.uscc))
    frozen.day = dt.date(2026, 4, 30)  # the window has closed
    page = api.client.get(f"/enterprises/{entry.uscc}?lang=en")
    assert 'id="form-object-' not in page.text
    data["csrf"] = token_of(page.text)
    late = post(api, f"/enterprises/{entry.uscc}/filings", data)
    assert late.status_code == 409 and "objection window closed" in late.text
    assert _state(api, entry.entry_id) == before


def test_the_score_history_and_the_printable_report(api: Api) -> None:
    p = api.province
    signed(api, api.key("enterprise", uscc=p.listed))
    page = api.client.get(f"/enterprises/{p.listed}?as_of={AS_OF}")
    days = re.findall(r'class="quarter" data-day="([0-9-]+)" data-score="(\d+)"', page.text)
    assert [d for d, _ in days] == [
        "2024-06-30", "2024-09-30", "2024-12-31", "2025-03-31",
        "2025-06-30", "2025-09-30", "2025-12-31", "2026-03-31",
    ]  # fmt: skip
    shown = re.search(r'id="score">(\d+)<', page.text)
    assert shown is not None and days[-1][1] == shown.group(1)  # the last point is the day's score
    report = api.client.get(f"/enterprises/{p.listed}/report?as_of={AS_OF}&lang=en")
    assert report.status_code == 200 and "@media print" in report.text
    decision = re.search(r'id="decision-id">([0-9a-f]{32})<', report.text)
    assert decision is not None and "Work-safety credit report" in report.text
    other = api.key("enterprise", uscc=p.unlisted)
    refused = api.client.get(f"/enterprises/{p.listed}/report", headers=api.headers(other))
    assert refused.status_code == 403


def test_a_repair_application_from_the_desk_with_its_commitment(api: Api, frozen: Clock) -> None:
    p = api.province
    frozen.day = dt.date(2027, 2, 10)  # 12 months after publication: an application may be made
    signed(api, api.key("enterprise", uscc=p.listed))
    page = api.client.get(f"/enterprises/{p.listed}?lang=en")
    assert f'id="form-apply_repair-{p.entry_id}"' in page.text
    answer = post(
        api,
        f"/enterprises/{p.listed}/filings",
        {
            "csrf": token_of(page.text),
            "entry_id": p.entry_id,
            "action": "apply_repair",
            "reason": "rectified",
            "commitment_signed_on": "2027-02-01",
        },
        files=[("attachments", ("commitment.jpg", JPEG, "image/jpeg"))],
    )
    assert answer.status_code == 303, answer.text
    row = actions_of(api.session, entry_id=p.entry_id)[-1]
    assert row.action == "apply_repair" and row.details["commitment_signed_on"] == "2027-02-01"
    assert row.details["attachments"][0]["media_type"] == "image/jpeg"
    assert row.details["precheck"]["conditions"]["commitment_signed"]["met"]
    shown = api.client.get(f"/enterprises/{p.listed}?lang=en").text
    commitment = re.search(r'data-name="commitment_signed" data-met="(yes|no)"', shown)
    assert commitment is not None and commitment.group(1) == "yes"  # signed with the application


def test_the_api_takes_no_attachments_it_was_not_given(api: Api, frozen: Clock) -> None:
    entry = _notified(api, frozen)
    token = api.key("enterprise", uscc=entry.uscc)
    before = _state(api, entry.entry_id)
    ref = {"sha256": "0" * 64, "name": "x.pdf", "media_type": "application/pdf", "size": 1}
    answer = api.client.post(
        f"/v1/registry/entries/{entry.entry_id}/actions",
        json={"action": "object", "reason": "x", "details": {"attachments": [ref]}},
        headers=api.headers(token),
    )
    assert answer.status_code == 422 and "attachments" in answer.json()["detail"]
    assert _state(api, entry.entry_id) == before


def test_a_form_past_the_body_limit_is_refused_in_a_page(api: Api, frozen: Clock) -> None:
    entry = _notified(api, frozen)
    signed(api, api.key("enterprise", uscc=entry.uscc))
    page = api.client.get(f"/enterprises/{entry.uscc}?lang=en")
    before = _state(api, entry.entry_id)
    huge = PDF + b"0" * api.app.state.limits.max_body_bytes
    data = {"csrf": token_of(page.text), "entry_id": entry.entry_id, "action": "object"}
    answer = post(
        api,
        f"/enterprises/{entry.uscc}/filings",
        {**data, "reason": "x"},
        files=[("attachments", ("big.pdf", huge, "application/pdf"))],
    )
    assert answer.status_code == 413 and answer.headers["content-type"].startswith("text/html")
    assert "nothing was changed" in answer.text and "default-src 'none'" in str(answer.headers)
    assert _state(api, entry.entry_id) == before


def test_an_objection_without_a_file_when_the_file_input_is_left_empty(
    api: Api, frozen: Clock
) -> None:
    entry = _notified(api, frozen)
    signed(api, api.key("enterprise", uscc=entry.uscc))
    page = api.client.get(f"/enterprises/{entry.uscc}")
    data = {"csrf": token_of(page.text), "entry_id": entry.entry_id, "action": "object"}
    empty = [("attachments", ("", b"", "application/octet-stream"))]  # what a browser sends
    answer = post(api, f"/enterprises/{entry.uscc}/filings", {**data, "reason": "异议"}, empty)
    assert answer.status_code == 303, answer.text
    row = actions_of(api.session, entry_id=entry.entry_id)[-1]
    assert row.action == "object" and row.reason == "异议" and "attachments" not in row.details
