"""An enterprise's entries as its desk shows them on a day: notices pending (with the objection
deadline), listings with their repair conditions (met or not, the records still open) and the
day an application may be made, its filings and what became of them, and the filings the
procedure allows today. Everything is read from the entries' actions (:mod:`registry.status`)
and the repair rules (:mod:`registry.repair`): no rule is decided here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import clock
from registry.errors import RegistryError
from registry.policy import Policy, find_policy
from registry.procedure import actions_of
from registry.repair import check_conditions
from registry.status import allowed_actions, status
from registry.tables import Action, Entry
from service.engine.filings import ENTERPRISE_FILINGS

PENDING = ("notified", "objected", "upheld", "decided")  # told, not yet published
LISTED = ("published", "repair_applied")
ANSWERS = {
    "object": ("uphold", "revoke"),
    "apply_repair": ("approve_repair", "reject_repair"),
}


def record(action: Action, time_zone: str) -> dict[str, Any]:
    """One step as the pages show it: the day it took effect, when the registry recorded it (in
    the registry's time zone), who, why, and the files filed with it."""
    at = action.recorded_at
    at = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(clock.zone(time_zone))
    return {
        "seq": action.seq,
        "action": action.action,
        "on": action.acted_on.isoformat(),
        "recorded_at": f"{at:%Y-%m-%d %H:%M}",
        "actor": action.actor,
        "reason": action.reason,
        "attachments": list(action.details.get("attachments", [])),
        "details": action.details,
    }


def policy_of(entry: Entry) -> Policy | None:
    try:
        return find_policy(f"{entry.policy_id}@{entry.policy_version}")
    except RegistryError:
        return None


def conditions(
    session: Session, entry: Entry, acts: list[Action], day: dt.date
) -> list[dict[str, Any]]:
    """The policy's repair conditions on ``day``, each met or not, with what is still open; the
    commitment counts as signed when the latest application carried it."""
    policy = policy_of(entry)
    if policy is None or not policy.repair.allowed:
        return []
    shown = [a for a in acts if a.acted_on <= day]
    application = next((dict(a.details) for a in reversed(shown) if a.action == "apply_repair"), {})
    results = check_conditions(
        session,
        entry=entry,
        now=status(shown, on=day),
        policy=policy,
        on=day,
        application=application,
    )
    return [
        {
            "name": name,
            "met": r["met"],
            "open": r.get("open", []),
            "met_on": r["met_on"].isoformat() if r.get("met_on") else None,
        }
        for name, r in results.items()
    ]


def filings(acts: list[Action], day: dt.date, time_zone: str) -> list[dict[str, Any]]:
    """The enterprise's objections and repair applications up to ``day``, each with its answer
    (the next answering step, if one was taken by then)."""
    shown = [a for a in acts if a.acted_on <= day]
    out = []
    for i, a in enumerate(shown):
        if a.action not in ENTERPRISE_FILINGS:
            continue
        answer = next((b for b in shown[i + 1 :] if b.action in ANSWERS[a.action]), None)
        out.append(
            {
                **record(a, time_zone),
                "answer": None if answer is None else record(answer, time_zone),
            }
        )
    return out


def enterprise_entries(
    session: Session, *, uscc: str, day: dt.date, today: dt.date, time_zone: str
) -> dict[str, Any]:
    """Every entry of the enterprise as on ``day`` (filings allowed: as on ``today``)."""
    entries = list(
        session.scalars(select(Entry).where(Entry.uscc == uscc).order_by(Entry.entry_id))
    )
    pending, listed, filed, forms = [], {}, [], []
    for entry in entries:
        acts = actions_of(session, entry_id=entry.entry_id)
        now = status(acts, on=day)
        policy = policy_of(entry)
        base = {
            "entry_id": entry.entry_id,
            "rule": entry.rule,
            "list_type": entry.list_type,
            "policy_id": entry.policy_id,
            "list_name": policy.name if policy else entry.list_type,
            "rule_title": next((r.title for r in policy.rules if r.code == entry.rule), entry.rule)
            if policy
            else entry.rule,
            "department": entry.department,
            "penalty_decision_id": entry.penalty_decision_id,
            "state": now.state,
            "status": now,
            "version": entry.version,
        }
        if now.state in PENDING:
            pending.append(base)
        if now.state in LISTED:
            listed[entry.entry_id] = {
                "conditions": conditions(session, entry, acts, day),
                "earliest_repair_on": now.earliest_repair_on,
            }
        filed += [{**f, **{"entry": base}} for f in filings(acts, day, time_zone)]
        allowed = set(allowed_actions(acts, on=today)) & ENTERPRISE_FILINGS
        forms += [{**base, "action": a} for a in sorted(allowed)]
    return {"pending": pending, "listed": listed, "filings": filed, "forms": forms}
