"""Repair (信用修复) conditions, checked against the event history as known on the decision date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from registry.evaluate import load_history
from registry.policy import Policy
from registry.rules import triggers
from registry.status import EntryStatus, add_months
from registry.tables import Entry


def check_conditions(
    session: Session,
    *,
    entry: Entry,
    now: EntryStatus,
    policy: Policy,
    on: dt.date,
    application: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Each condition the policy names → {"met": bool, "why": text}; a condition that only
    time meets also says from when (``met_on``), one that names records lists them (``open``:
    penalty decisions not carried out, hazards open past their deadline)."""
    history = load_history(session, as_of=on, usccs=[entry.uscc])
    results: dict[str, dict[str, Any]] = {}

    def note(
        name: str,
        met: bool,
        why: str,
        met_on: dt.date | None = None,
        open_: list[str] | None = None,
    ) -> None:
        results[name] = {"met": bool(met), "why": why}
        if met_on is not None:
            results[name]["met_on"] = met_on
        if open_:
            results[name]["open"] = open_

    for condition in policy.repair.conditions:
        if condition == "term_served":
            months = policy.repair.after_months or 0
            due = add_months(now.published_on, months) if now.published_on else None
            note(
                condition,
                due is not None and on >= due,
                f"{months} months from publication ({now.published_on}) end on {due}",
                due,
            )
        elif condition == "penalties_fulfilled":
            ids = {entry.penalty_decision_id}
            for table, frame, key in (
                ("accidents", history.accidents, "accident_id"),
                ("violations", history.violations, "violation_id"),
            ):
                mine = {e["id"] for e in entry.evidence if e["table"] == table}
                if len(frame):
                    ids |= set(frame.loc[frame[key].isin(mine), "penalty_decision_id"].dropna())
            p = history.penalties
            known = p[p["penalty_decision_id"].isin(ids)] if len(p) else p
            open_ = sorted(
                set(ids) - set(known.loc[known["fulfilled_on"].notna(), "penalty_decision_id"])
            )
            note(
                condition,
                not open_,
                f"not carried out by {on}: {', '.join(open_)}"
                if open_
                else f"all carried out: {', '.join(sorted(ids))}",
                open_=[str(x) for x in open_],
            )
        elif condition == "hazards_rectified":
            z = history.hazards
            overdue = (
                sorted(z.loc[z["rectified_on"].isna() & (z["due_on"] < on), "hazard_id"])
                if len(z)
                else []
            )
            note(
                condition,
                not overdue,
                f"open past their deadline: {', '.join(overdue)}" if overdue else "none overdue",
                open_=[str(h) for h in overdue],
            )
        elif condition == "no_new_event":
            mine = {(e["table"], e["id"]) for e in entry.evidence}
            since = now.published_on or entry.event_on
            new = sorted(
                {
                    f"{t.rule}:{','.join(i for _, i in t.evidence)}"
                    for t in triggers(history, policy)
                    if t.uscc == entry.uscc and t.event_on > since and not set(t.evidence) <= mine
                }
            )
            note(
                condition,
                not new,
                f"new events since {since}: {', '.join(new)}" if new else "none",
            )
        elif condition == "commitment_signed":
            signed = _day(application.get("commitment_signed_on"))
            ok = signed is not None and signed <= on
            note(
                condition,
                ok,
                f"credit commitment signed on {signed}"
                if ok
                else "no credit commitment signed on or before the day with the application",
            )
    return results


def _day(value: Any) -> dt.date | None:
    """A date from an application (applications entered before details were validated may hold
    anything: what is not a date counts as missing)."""
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return None
