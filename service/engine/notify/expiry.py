"""Removals at expiry, derived when dispatching: no job has to run on the day.

A publication (or a restoration) whose policy removes the entry automatically carries the day its
term ends (``due_on``). Once that day has come by the registry's clock, :func:`derive_expiries`
reads the entry's actions and, if the entry did leave the list by expiry on that day (not by a
repair before it), records one ``registry.expired`` event effective that day — once, whoever
derives it first (its dedupe key is the entry and the day).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.status import status
from registry.tables import Action, Entry
from service.store.notify_tables import Event
from service.store.outbox import EXPIRED, PUBLIC, entry_links, record


def derive_expiries(session: Session, *, today: dt.date, most: int = 1_000) -> int:
    """Record the expiry events due by ``today``; how many were recorded. In the caller's
    transaction (PostgreSQL: rows another worker is settling are skipped)."""
    due = session.execute(
        select(Event.event_id, Event.uscc, Event.due_on, Event.payload)
        .where(Event.due_settled.is_(False), Event.due_on <= today)
        .order_by(Event.due_on, Event.event_id)
        .limit(most)
        .with_for_update(skip_locked=True)
    ).all()
    made = 0
    for event_id, uscc, due_on, payload in due:
        entry_id = payload["entry_id"]
        acts = session.execute(
            select(Action.action, Action.acted_on, Action.details)
            .where(Action.entry_id == entry_id)
            .order_by(Action.seq)
        ).all()
        now = status(acts, on=due_on)
        if now.state == "expired" and now.removed_on == due_on:
            entry = session.get_one(Entry, entry_id)
            made += (
                record(
                    session.connection(),
                    type=EXPIRED,
                    uscc=uscc,
                    effective_on=due_on,
                    payload={
                        "entry_id": entry_id,
                        "removed_on": due_on.isoformat(),
                        "removal": "expiry",
                        "list_type": entry.list_type,
                        "policy": entry.policy_id,
                        "rule": entry.rule,
                        "department": entry.department,
                        "published_event": event_id,
                        "links": entry_links(entry_id, entry.uscc),
                    },
                    audience=PUBLIC,
                    dedupe=f"expired:{entry_id}:{due_on.isoformat()}",
                )
                is not None
            )
        session.execute(update(Event).where(Event.event_id == event_id).values(due_settled=True))
    return made
