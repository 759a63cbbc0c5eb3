"""The regulator desk on SQLite and PostgreSQL: the queue of the signed-in regulator's
department (and no other's), each task with its deadline; an entry's history with both times;
an action taken from the entry page as the API takes it, and refused ones that change nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from sqlalchemy import func, select

from registry.procedure import actions_of
from registry.tables import Action
from tests.conftest import Clock
from tests.service.conftest import Api
from tests.service.desks import post, proposals, reads_in_english, signed, token_of, walk

DAY = dt.date(2026, 3, 2)


def _tasks(html: str) -> dict[str, tuple[str, str]]:
    """entry id → (kind, deadline) as the queue shows them."""
    return {
        e: (k, d)
        for k, e, d in re.findall(
            r'class="task" data-kind="(\w+)" data-entry="(\w+)" data-deadline="([0-9-]*)"', html
        )
    }


def test_the_queue_holds_the_departments_tasks_with_their_deadlines(
    api: Api, frozen: Clock
) -> None:
    frozen.day = DAY
    waiting = proposals(api)
    department = Counter(p.department for p in waiting).most_common(1)[0][0]
    mine = [p for p in waiting if p.department == department][:4]
    assert len(mine) == 4, "the province needs four proposals of one department"
    proposed = walk(api, mine[0], [("propose", DAY)])
    closed = walk(
        api,
        mine[1],
        [("propose", DAY - dt.timedelta(days=60)), ("notify", DAY - dt.timedelta(days=59))],
    )
    objected = walk(api, mine[2], [("propose", DAY), ("notify", DAY), ("object", DAY)])
    decided = walk(
        api,
        mine[3],
        [
            ("propose", DAY - dt.timedelta(days=60)),
            ("notify", DAY - dt.timedelta(days=59)),
            ("decide", DAY),
        ],
    )
    signed(api, api.key("regulator", department=department))
    tasks = _tasks(api.client.get("/registry?lang=en").text)
    assert tasks[proposed.entry_id] == ("notify", "")
    assert tasks[closed.entry_id] == ("decide", "")
    assert tasks[objected.entry_id] == ("answer", "2026-03-23")  # 15 working days after
    assert tasks[decided.entry_id] == ("publish", "")
    assert set(tasks) == {e.entry_id for e in (proposed, closed, objected, decided)}
    # the published entry's term ends within 30 days: then it waits for its department too
    signed(api, api.key("regulator", department=api.province.department))
    assert api.province.entry_id not in _tasks(api.client.get("/registry").text)  # far off
    frozen.day = dt.date(2029, 1, 20)
    later = _tasks(api.client.get("/registry?lang=en").text)
    assert later[api.province.entry_id] == ("expiry", "2029-02-05")
    # another department's regulator sees none of it; one without a department is told so
    signed(api, api.key("regulator", department="another department"))
    other = api.client.get("/registry?lang=en").text
    assert not _tasks(other) and 'id="queue-empty"' in other
    signed(api, api.key("regulator"))
    assert 'id="no-department"' in api.client.get("/registry").text
    signed(api, api.key("enterprise", uscc=api.province.listed))
    assert api.client.get("/registry").status_code == 403


def test_an_objection_is_answered_from_the_entry_page(api: Api, frozen: Clock) -> None:
    frozen.day = DAY
    proposal = proposals(api)[0]
    entry = walk(api, proposal, [("propose", DAY), ("notify", DAY), ("object", DAY)])
    signed(api, api.key("regulator", department=entry.department))
    frozen.day = DAY + dt.timedelta(days=2)
    page = api.client.get(f"/registry/entries/{entry.entry_id}?lang=en")
    assert page.status_code == 200
    reads_in_english(page.text)
    steps = re.findall(
        r'class="step" data-action="(\w+)">.*?class="date on">([0-9-]+)<'
        r'.*?class="date recorded">([0-9: -]+)<',
        page.text,
        re.S,
    )
    assert [(a, on) for a, on, _ in steps] == [
        ("propose", "2026-03-02"),
        ("notify", "2026-03-02"),
        ("object", "2026-03-02"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", at) for _, _, at in steps)
    assert 'id="form-uphold"' in page.text and 'id="form-revoke"' in page.text
    assert 'id="form-publish"' not in page.text and 'id="form-object"' not in page.text
    version = re.findall(r'name="version" value="(\d+)"', page.text)[0]
    url = f"/registry/entries/{entry.entry_id}/actions"
    data = {"csrf": token_of(page.text), "lang": "en", "action": "uphold", "version": version}
    # no reason: refused on the page, nothing recorded
    before = api.session.scalar(select(func.count()).where(Action.entry_id == entry.entry_id))
    empty = post(api, url, {**data, "reason": " "})
    assert empty.status_code == 422 and 'id="refused"' in empty.text and "reason" in empty.text
    # a step the procedure does not allow now
    early = post(api, url, {**data, "action": "publish", "reason": "too soon"})
    assert early.status_code == 409 and "not allowed in state" in early.text
    assert (
        api.session.scalar(select(func.count()).where(Action.entry_id == entry.entry_id)) == before
    )
    done = post(api, url, {**data, "reason": "the record shows the unit responsible"})
    assert done.status_code == 303, done.text
    row = actions_of(api.session, entry_id=entry.entry_id)[-1]
    assert row.action == "uphold" and row.acted_on == frozen.day  # dated by the server
    assert row.department == entry.department and "test regulator" in row.actor
    shown = api.client.get(done.headers["location"])
    assert 'id="done"' in shown.text and 'data-action="uphold"' in shown.text
    # the enterprise sees its objection answered
    signed(api, api.key("enterprise", uscc=entry.uscc))
    desk = api.client.get(f"/enterprises/{entry.uscc}?lang=en").text
    assert re.search(r'data-action="object" data-answered="yes"', desk)
    assert "objection not upheld" in desk
    signed(api, api.key("regulator", department=entry.department))
    page = api.client.get(f"/registry/entries/{entry.entry_id}?lang=en")
    data["csrf"] = token_of(page.text)
    # the same form again: the entry moved on (its version), refused
    again = post(api, url, {**data, "reason": "again"})
    assert again.status_code == 409
    # another department reads, and cannot act
    signed(api, api.key("regulator", department="another department"))
    other = api.client.get(f"/registry/entries/{entry.entry_id}?lang=en")
    assert (
        'id="read-only"' in other.text
        and '<form method="post" action="/registry/entries' not in other.text
    )
    version = re.findall(r'name="version" value="(\d+)"', shown.text)[0]
    refused = post(
        api,
        url,
        {
            **data,
            "csrf": token_of(other.text),
            "action": "decide",
            "reason": "x",
            "version": version,
        },
    )
    assert refused.status_code == 403
    assert actions_of(api.session, entry_id=entry.entry_id)[-1].action == "uphold"
