"""Acting on entries: propose, then every step of the procedure, each dated, attributed, reasoned.

An action is refused (a :class:`~registry.errors.RegistryError`) when the procedure does not allow
it in the entry's state on that date, when the actor's department did not decide the entry, or
when someone else acted on the entry since it was read (:class:`ConflictError`: the entry's
``version`` is compared and bumped in one UPDATE, and (entry_id, seq) is unique). Query
functions take the session and never commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import chain, clock
from registry.errors import (
    ConditionsError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    PolicyError,
    TransitionError,
)
from registry.evaluate import Proposal
from registry.filings import validated
from registry.policy import Policy, find_policy
from registry.repair import check_conditions
from registry.status import ACTIONS, add_working_days, allowed_actions, refusal, status
from registry.tables import Action, Entry


def entry_policy(entry: Entry) -> Policy:
    """The policy the entry was proposed under (its file must not have changed since)."""
    policy = find_policy(f"{entry.policy_id}@{entry.policy_version}")
    if policy.sha256 != entry.policy_sha256:
        raise PolicyError(
            f"policy {policy.key} file changed since entry {entry.entry_id} was proposed "
            f"(sha256 {entry.policy_sha256[:12]}… → {policy.sha256[:12]}…): give it a new version"
        )
    return policy


def actions_of(session: Session, *, entry_id: str) -> list[Action]:
    return list(
        session.scalars(select(Action).where(Action.entry_id == entry_id).order_by(Action.seq))
    )


def check_date(
    on: dt.date, *, today: dt.date | None, policy: Policy, late_reason: str | None
) -> dict[str, Any] | None:
    """Refuse an effective date after the registry's today, or before it beyond the policy's
    late-entry grace or without the reason for the delay; the late entry's record, if it is one.

    ``today`` is the registry's date as the service or the command line reads its clock. None
    is history replayed by a simulation or a test: only a date after the clock's today is
    refused then."""
    limit = clock.today() if today is None else min(today, clock.today("Etc/GMT-14"))
    if on > limit:
        raise InputError(f"on: {on} is after today ({limit}): nothing takes effect in the future")
    if today is None or on == today:
        return None
    grace = policy.procedure.late_entry_days
    late = (today - on).days
    if grace is None or late > grace:
        allowed = "no late entry" if grace is None else f"at most {grace} days"
        raise InputError(
            f"on: {on} is {late} days before today ({today}); policy {policy.key} allows {allowed}"
        )
    if not late_reason or not late_reason.strip():
        raise InputError(
            f"late_reason: an action dated {on}, before today ({today}), needs the reason it is "
            "entered late"
        )
    return {"entered_on": today.isoformat(), "reason": late_reason.strip()[:2_000]}


def _require(actor: str, department: str, reason: str) -> None:
    for name, value in (("actor", actor), ("department", department), ("reason", reason)):
        if not value or not value.strip():
            raise InputError(f"an action needs a non-empty {name}")


def propose(
    session: Session,
    *,
    proposal: Proposal,
    policy: Policy,
    actor: str,
    department: str,
    on: dt.date,
    reason: str = "",
    today: dt.date | None = None,
    late_reason: str | None = None,
) -> Entry:
    """Enter ``proposal`` and record the first action. Only the penalising department proposes.
    ``today`` and ``late_reason``: as for :func:`act`."""
    reason = reason or proposal.summary
    _require(actor, department, reason)
    late = check_date(on, today=today, policy=policy, late_reason=late_reason)
    if proposal.policy != policy.key:
        raise InputError(f"proposal made under {proposal.policy}, not {policy.key}")
    if department != proposal.department:
        raise ForbiddenError(
            f"{department!r} may not propose this listing: penalty {proposal.penalty_decision_id} "
            f"was imposed by {proposal.department!r}"
        )
    if on < proposal.event_on:
        raise InputError(f"proposal dated {on}, before its event ({proposal.event_on})")
    if session.scalars(
        select(Entry.entry_id).where(
            Entry.list_type == proposal.list_type,
            Entry.uscc == proposal.uscc,
            Entry.penalty_decision_id == proposal.penalty_decision_id,
        )
    ).first():
        raise ConflictError(
            f"already entered: penalty decision {proposal.penalty_decision_id} of "
            f"{proposal.uscc} on {proposal.list_type}"
        )
    entry = Entry(
        entry_id=uuid.uuid4().hex,
        identity=proposal.identity,
        list_type=policy.list_type,
        policy_id=policy.id,
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        rule=proposal.rule,
        uscc=proposal.uscc,
        name=proposal.name,
        department=proposal.department,
        penalty_decision_id=proposal.penalty_decision_id,
        evidence=[{"table": t, "id": i} for t, i in proposal.evidence],
        grounds=[g.as_json() for g in proposal.grounds],
        persons=[{"role": r, "name": n} for r, n in proposal.persons],
        event_on=proposal.event_on,
        evaluated_as_of=proposal.as_of,
        version=1,
    )
    session.add(entry)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"already entered: {proposal.rule} {proposal.uscc}") from exc
    chain.append(
        session,
        Action(
            entry_id=entry.entry_id,
            seq=1,
            action="propose",
            acted_on=on,
            actor=actor,
            department=department,
            reason=reason,
            recorded_at=clock.now(),
            details={
                "entry": chain.entry_content(entry),
                "as_of": proposal.as_of.isoformat(),
                **({"late_entry": late} if late else {}),
            },
        ),
    )
    return entry


def _details(
    session: Session,
    entry: Entry,
    acts: list[Action],
    action: str,
    on: dt.date,
    given: dict[str, Any],
) -> dict[str, Any]:
    policy = entry_policy(entry)
    out = validated(action, given)
    if action == "notify":
        out["objection_until"] = add_working_days(
            on, policy.procedure.objection_working_days, policy.procedure.holidays
        ).isoformat()
    elif action == "decide":
        earlier = session.scalars(
            select(Action.entry_id)
            .join(Entry, Entry.entry_id == Action.entry_id)
            .where(
                Entry.uscc == entry.uscc,
                Entry.list_type == entry.list_type,
                Entry.entry_id != entry.entry_id,
                Action.action == "publish",
                Action.acted_on <= on,
            )
        ).first()
        repeat = earlier is not None and policy.term.repeat_listing_months is not None
        out.update(
            policy=policy.key,
            policy_sha256=policy.sha256,
            term_months=policy.term.repeat_listing_months if repeat else policy.term.months,
            repeat_listing=repeat,
            automatic_removal=policy.term.automatic_removal,
            repair_allowed=policy.repair.allowed,
            repair_after_months=policy.repair.after_months,
            apply_within_days_before_expiry=policy.repair.apply_within_days_before_expiry,
            removal_effective=policy.repair.removal_effective,
            fraud_restores=policy.repair.fraud_restores,
        )
    elif action == "apply_repair":
        out["precheck"] = precheck(session, entry=entry, acts=acts, on=on, application=out)
    elif action == "approve_repair":
        now = status(acts, on=on)
        application = next(a.details for a in reversed(acts) if a.action == "apply_repair")
        results = check_conditions(
            session, entry=entry, now=now, policy=policy, on=on, application=application
        )
        failed = {k: v["why"] for k, v in results.items() if not v["met"]}
        if failed:
            raise ConditionsError(entry_id=entry.entry_id, on=on, failed=failed)
        removed = on
        if policy.repair.removal_effective == "at_expiry" and now.term_ends_on:
            removed = max(on, now.term_ends_on)
        out.update(conditions=results, removed_on=removed.isoformat())
    return out


def precheck(
    session: Session,
    *,
    entry: Entry,
    acts: list[Action],
    on: dt.date,
    application: dict[str, Any],
) -> dict[str, Any]:
    """A repair application assessed as filed on ``on``: each condition met or missing, and
    the earliest day it can be approved (None while a condition other than time is missing)."""
    policy = entry_policy(entry)
    now = status(acts, on=on)
    results = check_conditions(
        session, entry=entry, now=now, policy=policy, on=on, application=application
    )
    missing = sorted(k for k, v in results.items() if not v["met"])
    earliest: dt.date | None = on
    for name in missing:
        due = results[name].get("met_on")
        earliest = None if earliest is None or due is None else max(earliest, due)
    return {
        "conditions": {k: {"met": v["met"], "why": v["why"]} for k, v in results.items()},
        "missing": missing,
        "earliest_approval_on": None if earliest is None else earliest.isoformat(),
    }


def act(
    session: Session,
    *,
    entry_id: str,
    action: str,
    actor: str,
    department: str,
    on: dt.date,
    reason: str,
    details: dict[str, Any] | None = None,
    expected_version: int | None = None,
    today: dt.date | None = None,
    late_reason: str | None = None,
) -> Action:
    """Record ``action`` on the entry, or refuse it with the reason and what is allowed instead.

    ``on`` is the date it takes effect; it is recorded at the server's time. ``today`` is the
    registry's date as the service or the command line reads it: an earlier ``on`` is a late
    entry, allowed within the policy's ``late_entry_days`` and with ``late_reason``; a later one
    is refused. Without ``today`` (history replayed by a simulation or a test) only a date after
    the clock's today is refused. ``expected_version`` is the entry version the actor saw; if
    the entry moved on since, :class:`ConflictError` — exactly one of two simultaneous actions
    succeeds.
    """
    _require(actor, department, reason)
    if action == "propose" or action not in ACTIONS:
        raise InputError(f"unknown action {action!r}; actions: {sorted(ACTIONS - {'propose'})}")
    # the row stays locked to the end of the transaction: an action committed meanwhile is
    # seen whole (its version and its step), never its step without its version
    entry = session.execute(
        select(Entry)
        .where(Entry.entry_id == entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if entry is None:
        raise NotFoundError(f"no registry entry {entry_id!r}")
    if department != entry.department:
        raise ForbiddenError(
            f"{department!r} may not act on entry {entry_id}: it is decided by {entry.department!r}"
        )
    late = check_date(on, today=today, policy=entry_policy(entry), late_reason=late_reason)
    seen = entry.version
    if expected_version is not None and expected_version != seen:
        raise ConflictError(
            f"entry {entry_id} is at version {seen}, not {expected_version}: read it again"
        )
    acts = actions_of(session, entry_id=entry_id)
    why = refusal(acts, action, on=on)
    if why is not None:
        raise TransitionError(
            entry_id=entry_id,
            action=action,
            state=status(acts, on=on).state,
            allowed=allowed_actions(acts, on=on),
            why=why,
        )
    full = _details(session, entry, acts, action, on, dict(details or {}))
    if late:
        full["late_entry"] = late
    bumped = session.execute(
        update(Entry)
        .where(Entry.entry_id == entry_id, Entry.version == seen)
        .values(version=seen + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(f"entry {entry_id} was changed by someone else: read it again")
    try:
        return chain.append(
            session,
            Action(
                entry_id=entry_id,
                seq=len(acts) + 1,
                action=action,
                acted_on=on,
                actor=actor,
                department=department,
                reason=reason,
                details=full,
                recorded_at=clock.now(),
            ),
        )
    except IntegrityError as exc:
        raise ConflictError(f"entry {entry_id}: another action took step {len(acts) + 1}") from exc
