"""The procedure as a state machine, and an entry's status derived from its actions and a date.

Nothing here touches the database: :func:`status` is a pure function of the entry's actions
(only those dated on or before ``on`` count) and the date. The terms it needs (term, repair
rules) travel in the ``decide`` action's details, the objection deadline in ``notify``'s, so an
entry's history alone answers "was it in force on that day?" — the same answer forever, and
expiry needs no job.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

TRANSITIONS: dict[str, dict[str, str]] = {
    "none": {"propose": "proposed"},
    "proposed": {"notify": "notified", "revoke": "revoked"},
    "notified": {"object": "objected", "decide": "decided", "revoke": "revoked"},
    "objected": {"uphold": "upheld", "revoke": "revoked"},
    "upheld": {"decide": "decided", "revoke": "revoked"},
    "decided": {"publish": "published"},
    "published": {"apply_repair": "repair_applied"},
    "repair_applied": {"approve_repair": "removed", "reject_repair": "published"},
    "removed": {"restore": "published"},
    "revoked": {},
    "expired": {},
}
ACTIONS = frozenset(a for moves in TRANSITIONS.values() for a in moves) | {"correct"}
LISTED = frozenset({"published", "repair_applied"})


class ActionLike(Protocol):
    @property
    def action(self) -> str: ...
    @property
    def acted_on(self) -> dt.date: ...
    @property
    def details(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Act:
    """One action as the state machine sees it (``chain_seq``: its place in the registry's
    recording order, for status as known at a moment)."""

    action: str
    acted_on: dt.date
    details: Mapping[str, Any]
    chain_seq: int = 0


@dataclass(frozen=True)
class EntryStatus:
    state: str
    in_force: bool  # the measures apply on this date
    last_acted_on: dt.date | None = None
    proposed_on: dt.date | None = None
    notified_on: dt.date | None = None
    objection_until: dt.date | None = None
    decided_on: dt.date | None = None
    published_on: dt.date | None = None
    term_ends_on: dt.date | None = None  # publication + term
    automatic_removal: bool = False  # True: the entry leaves the list on term_ends_on
    earliest_repair_on: dt.date | None = None  # when an application for removal may be made
    removed_on: dt.date | None = None  # first day no longer in force (expiry or repair)
    removal: str | None = None  # "expiry" or "repair"
    fraud_restores: bool = False


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the month's last day (2024-02-29 + 12 → 02-28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def add_working_days(day: dt.date, n: int, holidays: Iterable[dt.date] = ()) -> dt.date:
    """The ``n``-th working day after ``day`` (Monday–Friday, not a holiday)."""
    off = set(holidays)
    current, left = day, n
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in off:
            left -= 1
    return current


def _d(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def status(actions: Sequence[ActionLike], *, on: dt.date) -> EntryStatus:
    """The entry's status on ``on`` from its actions in order (later-dated actions ignored)."""
    f: dict[str, Any] = {"state": "none"}
    terms: Mapping[str, Any] = {}
    for a in actions:
        if a.acted_on > on:
            break
        f["last_acted_on"] = a.acted_on
        kind = a.action
        if kind == "correct":
            continue
        f["state"] = TRANSITIONS[f["state"]][kind]
        if kind == "propose":
            f["proposed_on"] = a.acted_on
        elif kind == "notify":
            f["notified_on"] = a.acted_on
            f["objection_until"] = _d(a.details["objection_until"])
        elif kind == "decide":
            f["decided_on"] = a.acted_on
            terms = a.details
        elif kind == "publish":
            f["published_on"] = a.acted_on
            f["term_ends_on"] = add_months(a.acted_on, terms["term_months"])
        elif kind == "approve_repair":
            f["removed_on"] = _d(a.details["removed_on"])
            f["removal"] = "repair"
        elif kind == "restore":
            f["removed_on"] = None
            f["removal"] = None
    automatic = bool(terms.get("automatic_removal", False))
    published, ends = f.get("published_on"), f.get("term_ends_on")
    earliest: dt.date | None = None
    if published is not None and ends is not None and terms.get("repair_allowed"):
        if terms.get("repair_after_months") is not None:
            earliest = add_months(published, terms["repair_after_months"])
        if terms.get("apply_within_days_before_expiry") is not None:
            window = ends - dt.timedelta(days=terms["apply_within_days_before_expiry"])
            earliest = window if earliest is None else max(earliest, window)
    state = f["state"]
    if state in LISTED and automatic and ends is not None and on >= ends:
        state = "expired"
        f["removed_on"], f["removal"] = ends, "expiry"
    removed_on = f.get("removed_on")
    pending = state == "removed" and removed_on is not None and on < removed_on
    in_force = state in LISTED or pending
    f.update(
        state=state,
        in_force=in_force,
        automatic_removal=automatic,
        earliest_repair_on=earliest,
        fraud_restores=bool(terms.get("fraud_restores", False)),
    )
    return EntryStatus(**f)


def refusal(actions: Sequence[ActionLike], action: str, *, on: dt.date) -> str | None:
    """Why ``action`` on ``on`` is not allowed after ``actions``, or None when it is."""
    if action not in ACTIONS:
        return f"unknown action {action!r}"
    if actions and on < actions[-1].acted_on:
        return f"dated {on}, before the entry's last action ({actions[-1].acted_on})"
    now = status(actions, on=on)
    if action == "correct":
        return "nothing to correct before a proposal" if now.state == "none" else None
    if action not in TRANSITIONS[now.state]:
        return f"the procedure does not allow it in state {now.state!r}"
    if action == "object" and now.objection_until and on > now.objection_until:
        return f"the objection window closed on {now.objection_until}"
    if action == "decide" and now.state == "notified" and on <= (now.objection_until or on):
        return f"the objection window is open until {now.objection_until}"
    if action == "apply_repair":
        if now.earliest_repair_on is None:
            return "this policy allows no removal on application"
        if on < now.earliest_repair_on:
            return f"an application may be made from {now.earliest_repair_on}"
    if action == "restore" and not now.fraud_restores:
        return "this policy does not restore listings"
    return None


def allowed_actions(actions: Sequence[ActionLike], *, on: dt.date) -> list[str]:
    """The actions the procedure allows on ``on``."""
    return sorted(a for a in ACTIONS if refusal(actions, a, on=on) is None)
