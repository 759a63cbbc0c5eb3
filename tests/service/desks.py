"""Helpers for the desks' tests: entries walked to a chosen step on the frozen clock's today,
a signed-in client and the token of a page's form."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from registry.evaluate import Proposal, evaluate
from registry.policy import find_policy, policies
from registry.procedure import act, propose
from registry.tables import Entry
from tests.service.conftest import END, ORIGIN, Api, sign_in

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--\r\n"  # bytes a naive parser trips on
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"


def proposals(api: Api) -> list[Proposal]:
    """Proposals not yet entered, as of the province's end."""
    return evaluate(api.session, policy=find_policy("mem11"), as_of=END)


def walk(api: Api, proposal: Proposal, steps: list[tuple[str, dt.date]]) -> Entry:
    """Enter ``proposal`` and take ``steps`` (action, day) as its deciding department."""
    who = {"actor": "reg-test", "department": proposal.department}
    with api.session.begin_nested():
        first = steps[0][1]
        entry = propose(
            api.session, proposal=proposal, policy=find_policy("mem11"), on=first, **who
        )
        for action, day in steps[1:]:
            act(api.session, entry_id=entry.entry_id, action=action, on=day, reason=action, **who)
    return entry


def signed(api: Api, token: str) -> None:
    assert sign_in(api, token).status_code == 303


def token_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def post(api: Api, url: str, data: dict[str, Any], files: Any = None, origin: str = ORIGIN) -> Any:
    return api.client.post(
        url, data=data, files=files, headers={"Origin": origin}, follow_redirects=False
    )


def reads_in_english(page: str) -> None:
    """List names and rule titles on an English page come from the policies' English text."""
    shipped = policies().values()
    assert any(p.list_name("en") in page for p in shipped)
    assert not any(p.name in page or any(r.title in page for r in p.rules) for p in shipped)
