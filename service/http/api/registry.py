"""The registry over HTTP: checks by approval offices, entries and their status, and actions —
by the deciding department's regulators, and an enterprise's own objection and repair filings."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.index import index_for
from registry.procedure import actions_of
from registry.status import allowed_actions, status
from registry.tables import Entry
from service.engine.filings import act_as
from service.engine.keys import Principal, require_subject
from service.engine.ledger import Row
from service.http.api.checking import (
    decide_check,
    decide_check_frozen,
    frozen_for,
    registry_changed,
)
from service.http.api.deps import LimitsDep, SessionDep, today_of
from service.http.api.inputs import Day, Line
from service.http.api.responses import answer_recorded, errors
from service.http.api.schemas import (
    ActionIn,
    ActionOut,
    CheckIn,
    CheckOut,
    EntriesOut,
    EntryOut,
    EntryStatusOut,
    EvidenceRef,
)
from service.http.auth import allow

router = APIRouter(prefix="/v1/registry", tags=["registry"])
READS_PUBLISHED_ONLY = frozenset({"approval_office", "insurer"})
ERRORS = errors()


@router.post("/checks", response_model=CheckOut, responses=ERRORS)
async def registry_check(
    body: CheckIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow("approval_office", "regulator"))],
) -> Response:
    """Each code's status in the domain on the date (today by default), as the registry knew it
    at ``known_at`` (now by default): ``restricted``, ``clear``, ``not_found`` or ``invalid``,
    with the measures, the entries in force (grounds, persons, evidence) and, for a clear
    grade-A enterprise, the incentives; one result per code in the order asked; recorded in the
    decision ledger."""
    codes, refs = body.codes()
    if (frozen := frozen_for(request, session, body.known_at, len(codes))) is not None:
        found = decide_check_frozen(
            request, principal, frozen, codes=codes, refs=refs, domain=body.domain,
            as_of=body.as_of,
        )  # fmt: skip
        if found is not None:
            output, row = found
            content = CheckOut.model_validate({**output, "decision_id": row.decision_id})
            await request.app.state.ledger.append(row)
            return Response(content.model_dump_json(), media_type="application/json")

    def answer() -> tuple[CheckOut, Row]:
        output, row = decide_check(
            request,
            session,
            principal,
            codes=codes,
            refs=refs,
            domain=body.domain,
            as_of=body.as_of,
            known_at=body.known_at,
        )
        return CheckOut.model_validate({**output, "decision_id": row.decision_id}), row

    return await answer_recorded(request, session, answer)


def _entry_out(session: Session, entry: Entry, as_of: dt.date, full: bool) -> EntryOut:
    acts = actions_of(session, entry_id=entry.entry_id)
    return EntryOut(
        entry_id=entry.entry_id,
        uscc=entry.uscc,
        name=entry.name,
        list_type=entry.list_type,
        policy=f"{entry.policy_id}@{entry.policy_version}",
        rule=entry.rule,
        rules=[g["rule"] for g in entry.grounds],
        department=entry.department,
        penalty_decision_id=entry.penalty_decision_id,
        evidence=[EvidenceRef(table=e["table"], id=e["id"]) for e in entry.evidence],
        version=entry.version,
        as_of=as_of,
        status=EntryStatusOut.model_validate(asdict(status(acts, on=as_of))),
        allowed_actions=sorted(allowed_actions(acts, on=as_of)) if full else None,
    )


@router.get("/entries", response_model=EntriesOut, responses=ERRORS)
def registry_entries(
    request: Request,
    session: SessionDep,
    limits: LimitsDep,
    principal: Annotated[
        Principal, Depends(allow("regulator", "approval_office", "insurer", "enterprise"))
    ],
    uscc: Annotated[
        Line | None, Query(min_length=18, max_length=18, description="one enterprise's entries")
    ] = None,
    as_of: Annotated[Day | None, Query(description="status on this day (today)")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000, description="entries on this page")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="entries skipped")] = 0,
) -> EntriesOut:
    """Entries with their status on the date. Regulators see every entry and the actions
    allowed then; an enterprise its own, in every state; approval offices and insurers only
    the entries published and in force on the date."""
    if principal.role == "enterprise":
        uscc = uscc or principal.uscc
    if uscc is not None:
        uscc = uscc.upper()
        require_subject(principal, uscc)
    day = as_of or today_of(request)
    page = min(limit, limits.entries_page_max)
    query = select(Entry).order_by(Entry.uscc, Entry.entry_id)
    if uscc is not None:
        query = query.where(Entry.uscc == uscc)
    published_only = principal.role in READS_PUBLISHED_ONLY
    with session.begin():
        if published_only:
            index = index_for(session)
            codes = [uscc] if uscc is not None else sorted(index.uscc_ids)
            ids = sorted({(x.uscc, x.entry_id) for x in index.in_force(codes, day)})
            total, chosen = len(ids), [e for _, e in ids[offset : offset + page]]
            query = query.where(Entry.entry_id.in_(chosen))
            rows = list(session.scalars(query)) if chosen else []
        else:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = list(session.scalars(query.limit(page).offset(offset)))
        entries = [_entry_out(session, e, day, not published_only) for e in rows]
    return EntriesOut(as_of=day, total=total, entries=entries)


@router.post(
    "/entries/{entry_id}/actions",
    response_model=ActionOut,
    responses=errors(404, 409, 413, e404="no such entry", e413="details too large"),
)
def registry_action(
    entry_id: Annotated[Line, Path(max_length=64, description="the entry acted on")],
    body: ActionIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow("regulator", "enterprise"))],
) -> ActionOut:
    """Record one step of the procedure, recorded at the server's time. Regulators act for
    their department on the entries it decided, today or (with ``late_reason``) on an earlier
    day within the policy's grace; an enterprise files an objection or a repair application on
    its own entries, always dated today."""
    today = today_of(request)
    with session.begin():
        acted = act_as(
            session,
            principal,
            entry_id=entry_id,
            action=body.action,
            reason=body.reason,
            today=today,
            details=body.details,
            on=body.on,
            late_reason=body.late_reason,
            expected_version=body.expected_version,
        )
        row, actor, department = acted.row, acted.actor, acted.department
        acts = actions_of(session, entry_id=entry_id)
        out = ActionOut(
            entry_id=entry_id,
            action=row.action,
            acted_on=row.acted_on,
            recorded_at=row.recorded_at,
            late_entry=row.details.get("late_entry"),
            precheck=row.details.get("precheck"),
            seq=row.seq,
            chain_seq=row.chain_seq,
            hash=row.hash,
            actor=actor,
            department=department,
            status=EntryStatusOut.model_validate(asdict(status(acts, on=today))),
            allowed_actions=sorted(allowed_actions(acts, on=today)),
        )
    registry_changed(request, session)
    return out
