"""One way to act on a registry entry, for the API and the desks alike: a regulator acts for its
department, an enterprise files an objection or a repair application on its own entries, always
dated today; files filed with it are checked, their hashes put in the action's details (so the
chain covers them) and kept in the same transaction. The procedure's rules are
:func:`registry.procedure.act`'s alone. The caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from registry.attachments import Upload, described, store
from registry.procedure import act
from registry.tables import Action, Entry
from service.engine.errors import BadInput, Forbidden, NotFound
from service.engine.keys import Principal, require_subject

ENTERPRISE_FILINGS = frozenset({"object", "apply_repair"})


@dataclass(frozen=True)
class Acted:
    row: Action
    actor: str
    department: str


def act_as(
    session: Session,
    principal: Principal,
    *,
    entry_id: str,
    action: str,
    reason: str,
    today: dt.date,
    details: dict[str, Any] | None = None,
    uploads: list[Upload] | None = None,
    max_upload_bytes: int = 0,
    on: dt.date | None = None,
    late_reason: str | None = None,
    expected_version: int | None = None,
) -> Acted:
    """Record ``action`` on the entry as ``principal`` may, or refuse it (nothing changed)."""
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"entry_id: no registry entry {entry_id!r}")
    given = dict(details or {})
    if "attachments" in given:
        raise BadInput(
            "details.attachments: files are filed by uploading them with the filing, not named"
        )
    if principal.role == "enterprise":
        require_subject(principal, entry.uscc)
        if action not in ENTERPRISE_FILINGS:
            raise Forbidden(
                f"action: an enterprise files {' or '.join(sorted(ENTERPRISE_FILINGS))}, "
                f"not {action!r}"
            )
        if on is not None or late_reason is not None:
            raise BadInput("on: an enterprise's filing is dated by the server (today)")
        actor, department = f"enterprise {principal.uscc} ({principal.name})", entry.department
    else:
        if not principal.department:
            raise Forbidden("this regulator key belongs to no department: it may only read")
        actor, department = f"{principal.name} ({principal.key_id})", principal.department
    files = list(uploads or [])
    if files:
        if action not in ENTERPRISE_FILINGS:
            raise BadInput("attachments: only an objection or a repair application carries files")
        given["attachments"] = described(files, max_bytes=max_upload_bytes)
    row = act(
        session,
        entry_id=entry_id,
        action=action,
        actor=actor,
        department=department,
        on=on or today,
        reason=reason,
        details=given,
        expected_version=expected_version,
        today=today,
        late_reason=late_reason,
    )
    if files:
        store(session, entry_id=entry_id, seq=row.seq, uploads=files, refs=given["attachments"])
    return Acted(row, actor, department)
