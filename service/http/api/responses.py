"""The error responses routes declare (every error body is
:class:`~service.http.errors.ErrorOut`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.engine import ledger
from service.engine.ledger import Row, Writer
from service.http.errors import ErrorOut

WHY = {
    400: "the body could not be read (not JSON)",
    401: "no API key, or an unknown, revoked or expired one",
    403: "the key's role, enterprise or department does not allow it",
    404: "not found",
    409: "not allowed in the current state, or someone else acted first",
    413: "the body or a part of it is too large",
    422: "bad input: which field and why",
    503: "not ready (no champion model) or the database is unavailable",
}


def errors(*codes: int, **why: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code with the error body and what it means here."""
    return {
        c: {"model": ErrorOut, "description": why.get(f"e{c}", WHY[c])}
        for c in (400, 401, 403, 422, 503, *codes)
    }


async def answer_in_thread(answer: Callable[[], BaseModel]) -> Response:
    """An answer's blocking work — database, computation, its validation and its JSON — in the
    threadpool, in one hop, and the JSON as the response. A sync route hops twice: FastAPI
    validates a sync route's return value in the threadpool again (a second wake-up of a
    sleeping thread, 0.3 ms at the median and 2 ms at the 99th percentile here); and validating
    a large answer (10,000 codes) on the event loop instead would stall every other request.
    The route still declares its ``response_model``, which the answer is an instance of."""
    return Response(
        await run_in_threadpool(lambda: answer().model_dump_json()),
        media_type="application/json",
    )


async def answer_recorded(
    request: Request, session: Session, answer: Callable[[], tuple[BaseModel, Row]]
) -> Response:
    """An answer whose decision the ledger records: computed, validated and made JSON in the
    threadpool in one hop (as :func:`answer_in_thread`), its decision then handed to the
    process's ledger writer, and the JSON given only once that decision is committed. No thread
    waits for the commit: the route awaits it on the event loop. A ``session`` bound to another
    database or to a caller's connection (an embedding's transaction) records the decision in
    it, in the same hop."""
    writer: Writer = request.app.state.ledger
    mine = session.get_bind() is writer.engine

    def work() -> tuple[bytes, Row]:
        body, row = answer()
        if not mine:
            ledger.append(session, row)
        return body.model_dump_json().encode(), row

    content, row = await run_in_threadpool(work)
    if mine:
        await writer.append(row)
    return Response(content, media_type="application/json")
