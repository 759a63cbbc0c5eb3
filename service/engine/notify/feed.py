"""The change feed: the events a key may hear of, in order, a page at a time after an opaque
cursor. Events are numbered without gaps in commit order (:mod:`service.store.notify_tables`),
so the cursor is the number of the last event the page covered — every event up to it was
considered, including those filtered out — and a page never misses one that commits later."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import clock
from service.engine.keys import Principal
from service.engine.notify.audience import hears
from service.engine.notify.errors import NotifyInputError
from service.engine.notify.expiry import derive_expiries
from service.store.notify_tables import Event, NotifyHead
from service.store.outbox import HEAD_ID

PREFIX = "c1."


def cursor_of(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{PREFIX}{event_id}".encode()).decode().rstrip("=")


def position(cursor: str | None) -> int:
    """The event number a cursor stands for (0: from the beginning)."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(PREFIX):
            raise ValueError(text)
        value = int(text.removeprefix(PREFIX))
        if value < 0:
            raise ValueError(text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise NotifyInputError(
            f"since: {cursor[:64]!r} is not a cursor this feed gave (use next_cursor)"
        ) from None
    return value


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]
    next_cursor: str
    more: bool  # another page is there already


def as_json(e: Event) -> dict[str, Any]:
    """An event as the feed and the webhooks carry it."""
    return {
        "id": e.event_id,
        "type": e.type,
        "uscc": e.uscc,
        "effective_on": e.effective_on.isoformat(),
        "recorded_at": clock.naive_utc(e.recorded_at).isoformat() + "Z",
        "payload": e.payload,
    }


def changes(
    session: Session,
    *,
    principal: Principal,
    since: str | None,
    limit: int,
    today: dt.date,
) -> Page:
    """Up to ``limit`` events after the cursor that ``principal`` may hear of (expiries due by
    ``today`` derived first). In the caller's transaction."""
    after = position(since)
    derive_expiries(session, today=today)
    head = session.execute(
        select(NotifyHead.length).where(NotifyHead.head_id == HEAD_ID)
    ).scalar_one()
    if after > head:
        raise NotifyInputError(f"since: the cursor is past the last event ({head})")
    rows = list(
        session.scalars(
            select(Event)
            .where(Event.event_id > after, Event.event_id <= head, hears(principal))
            .order_by(Event.event_id)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].event_id if more else head
    return Page([as_json(e) for e in rows], cursor_of(last), more)
