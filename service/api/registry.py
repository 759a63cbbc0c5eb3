"""The registry over HTTP: checks by approval offices, entries and their status, and actions —
by the deciding department's regulators, and an enterprise's own objection and repair filings."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.procedure import act, actions_of
from registry.status import allowed_actions, status
from registry.tables import Entry
from service.api.answers import answered, check_output, check_reasons
from service.api.deps import LimitsDep, SessionDep
from service.api.responses import answer_in_thread, errors
from service.api.schemas import (
    ActionIn,
    ActionOut,
    CheckIn,
    CheckOut,
    EntriesOut,
    EntryOut,
    EntryStatusOut,
)
from service.auth import Forbidden, allow, require_subject
from service.errors import NotFound, ServiceError
from service.keys import Principal

router = APIRouter(prefix="/v1/registry", tags=["registry"])
ENTERPRISE_FILINGS = frozenset({"object", "apply_repair"})
ERRORS = errors()


class TooMany(ServiceError):
    status = 422
    kind = "too_many"


@router.post("/checks", response_model=CheckOut, responses=ERRORS)
async def registry_check(
    body: CheckIn,
    session: SessionDep,
    limits: LimitsDep,
    principal: Annotated[Principal, Depends(allow("approval_office", "regulator"))],
) -> Response:
    """Is each code restricted in the domain on the date (today by default)? With the measures
    and the entries in force; recorded in the decision ledger."""
    codes = sorted(set(body.usccs))
    if len(codes) > limits.max_codes:
        raise TooMany(f"usccs: at most {limits.max_codes} codes per check, got {len(codes)}")
    inputs = {
        "usccs": codes,
        "domain": body.domain,
        "as_of": (body.as_of or dt.date.today()).isoformat(),
    }

    def answer() -> CheckOut:
        output, row = answered(
            session,
            kind="check",
            inputs=inputs,
            versions={},
            compute=lambda s: check_output(s, inputs),
            reasons=check_reasons,
            key_id=principal.key_id,
        )
        return CheckOut.model_validate({**output, "decision_id": row.decision_id})

    return await answer_in_thread(answer)


def _entry_out(session: Session, entry: Entry, as_of: dt.date) -> EntryOut:
    acts = actions_of(session, entry_id=entry.entry_id)
    return EntryOut(
        entry_id=entry.entry_id,
        uscc=entry.uscc,
        name=entry.name,
        list_type=entry.list_type,
        policy=f"{entry.policy_id}@{entry.policy_version}",
        rule=entry.rule,
        department=entry.department,
        penalty_decision_id=entry.penalty_decision_id,
        evidence=[{"table": e["table"], "id": e["id"]} for e in entry.evidence],
        version=entry.version,
        as_of=as_of,
        status=EntryStatusOut.model_validate(asdict(status(acts, on=as_of))),
        allowed_actions=sorted(allowed_actions(acts, on=as_of)),
    )


@router.get("/entries", response_model=EntriesOut, responses=ERRORS)
def registry_entries(
    session: SessionDep,
    limits: LimitsDep,
    principal: Annotated[Principal, Depends(allow("regulator", "approval_office", "enterprise"))],
    uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    as_of: Annotated[dt.date | None, Query(description="status on this day (today)")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EntriesOut:
    """Entries (of one enterprise, or all for regulators and approval offices) with their status
    on the date and the actions allowed then."""
    if principal.role == "enterprise":
        uscc = uscc or principal.uscc
    if uscc is not None:
        uscc = uscc.upper()
        require_subject(principal, uscc)
    day = as_of or dt.date.today()
    query = select(Entry).order_by(Entry.uscc, Entry.entry_id)
    if uscc is not None:
        query = query.where(Entry.uscc == uscc)
    with session.begin():
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.limit(min(limit, limits.entries_page_max)).offset(offset))
        entries = [_entry_out(session, e, day) for e in rows]
    return EntriesOut(as_of=day, total=total, entries=entries)


@router.post(
    "/entries/{entry_id}/actions",
    response_model=ActionOut,
    responses=errors(404, 409, e404="no such entry"),
)
def registry_action(
    entry_id: str,
    body: ActionIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow("regulator", "enterprise"))],
) -> ActionOut:
    """Record one step of the procedure. Regulators act for their department on the entries it
    decided; an enterprise files an objection or a repair application on its own entries."""
    on = body.on or dt.date.today()
    with session.begin():
        entry = session.get(Entry, entry_id)
        if entry is None:
            raise NotFound(f"entry_id: no registry entry {entry_id!r}")
        if principal.role == "enterprise":
            require_subject(principal, entry.uscc)
            if body.action not in ENTERPRISE_FILINGS:
                raise Forbidden(
                    f"action: an enterprise files {' or '.join(sorted(ENTERPRISE_FILINGS))}, "
                    f"not {body.action!r}"
                )
            actor, department = f"enterprise {principal.uscc} ({principal.name})", entry.department
        else:
            if not principal.department:
                raise Forbidden("this regulator key belongs to no department: it may only read")
            actor, department = f"{principal.name} ({principal.key_id})", principal.department
        row = act(
            session,
            entry_id=entry_id,
            action=body.action,
            actor=actor,
            department=department,
            on=on,
            reason=body.reason,
            details=body.details,
            expected_version=body.expected_version,
        )
        acts = actions_of(session, entry_id=entry_id)
        out = ActionOut(
            entry_id=entry_id,
            action=row.action,
            acted_on=row.acted_on,
            seq=row.seq,
            chain_seq=row.chain_seq,
            hash=row.hash,
            actor=actor,
            department=department,
            status=EntryStatusOut.model_validate(asdict(status(acts, on=on))),
            allowed_actions=sorted(allowed_actions(acts, on=on)),
        )
    return out
