"""What waits for a department on a day: proposals to notify, notices whose objection window has
closed (to decide), objections to answer, decisions to publish, repair applications to decide,
terms ending soon — each with the day it has waited since and its deadline where the policy
sets one. Derived from the entries' actions like every status (:mod:`registry.status`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import RegistryError
from registry.policy import Policy, find_policy
from registry.status import add_working_days, status
from registry.tables import Action, Entry

KINDS = ("answer", "repair", "decide", "publish", "notify", "expiry")  # the desk's order


@dataclass(frozen=True)
class Task:
    kind: str
    entry_id: str
    uscc: str
    name: str | None
    rule: str
    title: str  # the rule's title in its policy file
    policy_id: str
    state: str
    since: dt.date  # the step that made the task
    deadline: dt.date | None  # None: the policy sets none

    def overdue(self, today: dt.date) -> bool:
        return self.deadline is not None and today > self.deadline


def _policy(entry: Entry) -> Policy | None:
    try:
        return find_policy(f"{entry.policy_id}@{entry.policy_version}")
    except RegistryError:
        return None


def queue(session: Session, *, department: str, today: dt.date, expiry_days: int) -> list[Task]:
    """The department's tasks on ``today``, deadlines first (soonest first), then oldest."""
    entries = list(session.scalars(select(Entry).where(Entry.department == department)))
    acts: dict[str, list[Action]] = defaultdict(list)
    if entries:
        rows = session.scalars(
            select(Action)
            .join(Entry, Entry.entry_id == Action.entry_id)
            .where(Entry.department == department)
            .order_by(Action.entry_id, Action.seq)
        )
        for a in rows:
            acts[a.entry_id].append(a)
    tasks = [t for e in entries if (t := _task(e, acts[e.entry_id], today, expiry_days))]
    far = dt.date.max
    return sorted(tasks, key=lambda t: (t.deadline or far, t.since, t.entry_id))


def _task(entry: Entry, acts: list[Action], today: dt.date, expiry_days: int) -> Task | None:
    now = status(acts, on=today)
    last = next((a for a in reversed(acts) if a.acted_on <= today), None)
    since = last.acted_on if last is not None else entry.event_on
    kind, deadline = None, None
    if now.state == "proposed":
        kind = "notify"
    elif now.state == "notified" and now.objection_until and today > now.objection_until:
        kind, since = "decide", now.objection_until
    elif now.state == "objected":
        kind = "answer"
        found = _policy(entry)
        if found is not None:
            p = found.procedure
            deadline = add_working_days(since, p.objection_working_days, p.holidays)
    elif now.state == "upheld":
        kind = "decide"
    elif now.state == "decided":
        kind = "publish"
    elif now.state == "repair_applied":
        kind = "repair"
    elif (
        now.state == "published"
        and now.term_ends_on is not None
        and today <= now.term_ends_on <= today + dt.timedelta(days=expiry_days)
    ):
        kind, deadline = "expiry", now.term_ends_on
    if kind is None:
        return None
    policy = _policy(entry)
    title = next((r.title for r in policy.rules if r.code == entry.rule), "") if policy else ""
    return Task(
        kind,
        entry.entry_id,
        entry.uscc,
        entry.name,
        entry.rule,
        title,
        entry.policy_id,
        now.state,
        since,
        deadline,
    )
