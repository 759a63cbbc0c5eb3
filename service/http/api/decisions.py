"""``GET /v1/decisions/{id}``: exactly what was decided, with inputs, versions and reasons; and
its replay from the recorded inputs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from service.engine import ledger
from service.engine.errors import Forbidden, NotFound
from service.engine.keys import Principal
from service.http.api.deps import SessionDep
from service.http.api.inputs import Line
from service.http.api.replay import replay
from service.http.api.responses import errors
from service.http.api.schemas import DecisionOut, ReplayOut
from service.http.auth import PrincipalDep, allow
from service.store.tables import Decision

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])
ERRORS = errors(404, e404="no such decision")
DecisionId = Annotated[Line, Path(max_length=64, description="the ledger row's id")]


def _readable(principal: Principal, decision: Decision) -> None:
    """Regulators read every decision; an enterprise those about itself; others their own."""
    if principal.role == "regulator":
        return
    if principal.role == "enterprise" and decision.subject == principal.uscc:
        return
    if principal.role != "enterprise" and decision.key_id == principal.key_id:
        return
    raise Forbidden("this key may not read that decision")


def _found(session: SessionDep, decision_id: str) -> Decision:
    row = ledger.get(session, decision_id=decision_id)
    if row is None:
        raise NotFound(f"decision_id: no decision {decision_id!r}")
    return row


@router.get("/{decision_id}", response_model=DecisionOut, responses=ERRORS)
def decision(decision_id: DecisionId, session: SessionDep, principal: PrincipalDep) -> DecisionOut:
    """What was decided, from which inputs (and their sha256), by which versions, and why."""
    with session.begin():
        row = _found(session, decision_id)
        _readable(principal, row)
        return DecisionOut.model_validate(row, from_attributes=True)


@router.post(
    "/{decision_id}/replay",
    response_model=ReplayOut,
    responses=errors(404, 409, e409="other versions serve now, or no model to replay with"),
)
def replay_decision(
    decision_id: DecisionId,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow("regulator"))],
) -> ReplayOut:
    """Compute the decision again from its recorded inputs and say whether it is reproduced."""
    with session.begin():
        row = _found(session, decision_id)
        state = request.app.state
        found = replay(session, state.champion.get(), row, getattr(state, "tariff", None))
    return ReplayOut(decision_id=decision_id, reproduced=not found, differences=found)
