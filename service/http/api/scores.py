"""``GET /v1/enterprises/{uscc}/score``: score, grade, probability, reasons, recourse, listings
in force, versions and the decision id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from service.engine.keys import Principal, require_subject
from service.engine.ledger import Row
from service.http.api.answers import decided, score_output, score_reasons
from service.http.api.deps import BooksDep, ScorerDep, SessionDep, today_of
from service.http.api.inputs import Day
from service.http.api.responses import answer_recorded, errors
from service.http.api.schemas import ScoreOut
from service.http.auth import allow

router = APIRouter(prefix="/v1", tags=["scores"])
USCC = Path(
    min_length=18,
    max_length=18,
    pattern=r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$",
    description="the enterprise's unified social credit code",
)
ERRORS = errors(404, e404="no such enterprise as of that date")


@router.get("/enterprises/{uscc}/score", response_model=ScoreOut, responses=ERRORS)
async def enterprise_score(
    uscc: Annotated[str, USCC],
    request: Request,
    session: SessionDep,
    scorer: ScorerDep,
    books: BooksDep,
    principal: Annotated[Principal, Depends(allow("insurer", "regulator", "enterprise"))],
    as_of: Annotated[Day | None, Query(description="score as of this day (today)")] = None,
) -> Response:
    """The enterprise's safety credit score as of a date, with its evidence; recorded in the
    decision ledger."""
    uscc = uscc.upper()
    require_subject(principal, uscc)
    inputs = {"uscc": uscc, "as_of": (as_of or today_of(request)).isoformat()}

    def answer() -> tuple[ScoreOut, Row]:
        output, row = decided(
            session,
            kind="score",
            inputs=inputs,
            versions=scorer.versions,
            compute=lambda s: score_output(s, scorer, inputs, books=books),
            reasons=score_reasons,
            subject=uscc,
            key_id=principal.key_id,
        )
        return ScoreOut.model_validate({**output, "decision_id": row.decision_id}), row

    return await answer_recorded(request, session, answer)
