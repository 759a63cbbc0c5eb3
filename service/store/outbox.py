"""Events recorded in the transaction of the change they tell of (a transactional outbox).

:func:`record` numbers an event from the locked head row, so events commit in the order of their
numbers and a cursor never skips one committed late. Every registry action becomes an event as it
is inserted (a listener on the action table, registered when :mod:`service` is imported, so the
registry itself knows nothing of watchers): its type says what was done, its audience whether a
watcher other than a regulator or the enterprise may hear of it (only once the entry has been
published), and a publication carries the day it will leave the list at expiry, for
:mod:`service.engine.notify.expiry`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, event, insert, select, update

from registry import clock
from registry.status import status
from registry.tables import Action, Entry
from service.store.notify_tables import Event, NotifyHead

PUBLIC, RESTRICTED = "public", "restricted"
# an action's event type: what a watcher is told happened to the entry
ACTION_EVENTS = {
    "propose": "registry.proposed",
    "notify": "registry.notified",
    "object": "registry.objected",
    "uphold": "registry.upheld",
    "decide": "registry.decided",
    "publish": "registry.published",
    "correct": "registry.corrected",
    "revoke": "registry.revoked",
    "apply_repair": "registry.repair_applied",
    "approve_repair": "registry.repaired",
    "reject_repair": "registry.repair_rejected",
    "restore": "registry.restored",
}
EXPIRED = "registry.expired"
GRADE_CHANGED = "score.grade_changed"
CHAMPION = "model.champion"
TARIFF = "tariff.version"
TYPES = (*ACTION_EVENTS.values(), EXPIRED, GRADE_CHANGED, CHAMPION, TARIFF)
HEAD_ID = 1


def record(
    connection: Connection,
    *,
    type: str,
    uscc: str | None,
    effective_on: dt.date,
    payload: dict[str, Any],
    audience: str = PUBLIC,
    dedupe: str | None = None,
    due_on: dt.date | None = None,
    recorded_at: dt.datetime | None = None,
) -> int | None:
    """Add an event in the connection's transaction; its number, or None when an event with the
    same ``dedupe`` key exists already (derived events are recorded once, whoever derives them).
    Locks the head row till the transaction ends."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}")
    length = connection.execute(
        select(NotifyHead.length).where(NotifyHead.head_id == HEAD_ID).with_for_update()
    ).scalar_one()
    if (
        dedupe is not None
        and connection.execute(select(Event.event_id).where(Event.dedupe == dedupe)).first()
    ):
        return None
    event_id = length + 1
    connection.execute(
        insert(Event).values(
            event_id=event_id,
            type=type,
            uscc=uscc,
            effective_on=effective_on,
            recorded_at=recorded_at or clock.now(),
            audience=audience,
            payload=payload,
            dedupe=dedupe,
            due_on=due_on,
            due_settled=due_on is None,
            fanned_out=False,
        )
    )
    connection.execute(
        update(NotifyHead).where(NotifyHead.head_id == HEAD_ID).values(length=event_id)
    )
    return event_id


def entry_links(entry_id: str, uscc: str) -> dict[str, str]:
    """Where a reader with the right to see it reads the entry and its actions."""
    return {
        "entries": f"/v1/registry/entries?uscc={uscc}",
        "actions": f"/v1/registry/entries/{entry_id}/actions",
    }


def action_event(connection: Connection, row: Action) -> int | None:
    """The event of a registry action just inserted (on the action's connection)."""
    entry = connection.execute(
        select(Entry.uscc, Entry.list_type, Entry.rule, Entry.department, Entry.policy_id).where(
            Entry.entry_id == row.entry_id
        )
    ).one()
    acts = connection.execute(
        select(Action.action, Action.acted_on, Action.details)
        .where(Action.entry_id == row.entry_id)
        .order_by(Action.seq)
    ).all()
    published = any(a.action == "publish" for a in acts)
    due_on = None
    if row.action in ("publish", "restore"):
        now = status(acts, on=row.acted_on)
        if now.automatic_removal and now.term_ends_on is not None:
            due_on = now.term_ends_on
    payload = {
        "entry_id": row.entry_id,
        "action": row.action,
        "seq": row.seq,
        "chain_seq": row.chain_seq,
        "acted_on": row.acted_on.isoformat(),
        "list_type": entry.list_type,
        "policy": entry.policy_id,
        "rule": entry.rule,
        "department": entry.department,
        "links": entry_links(row.entry_id, entry.uscc),
    }
    if due_on is not None:
        payload["term_ends_on"] = due_on.isoformat()
    if row.action == "approve_repair":
        payload["removed_on"] = str(row.details.get("removed_on"))
    return record(
        connection,
        type=ACTION_EVENTS[row.action],
        uscc=entry.uscc,
        effective_on=row.acted_on,
        payload=payload,
        audience=PUBLIC if published else RESTRICTED,
        due_on=due_on,
        recorded_at=row.recorded_at,
    )


@event.listens_for(Action, "after_insert")
def _on_action(_mapper: Any, connection: Connection, row: Action) -> None:
    action_event(connection, row)
