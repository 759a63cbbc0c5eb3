"""A registry check as every door asks it — the API's ``POST /v1/registry/checks`` and the
approval-office desk ``/checks`` — one composition: the registry index as known at the moment
asked, the credit grades for the incentives, recorded in the decision ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from registry import clock
from registry.index import index_for
from service.engine import ledger
from service.engine.errors import BadInput, ServiceError
from service.engine.keys import Principal
from service.http.api.answers import check_output, check_reasons, decided, grades_of, record_known
from service.http.api.deps import today_of


class TooMany(ServiceError):
    status = 422
    kind = "too_many"


def decide_check(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    codes: Sequence[str],
    refs: Sequence[str | None] | None,
    domain: str,
    as_of: dt.date | None,
    known_at: dt.datetime | None,
) -> tuple[dict[str, Any], ledger.Row]:
    """Each code's answer on ``as_of`` (today) as the registry knew it at ``known_at`` (now), and
    the decision that records it, not yet written. Blocking: run it in the threadpool."""
    limits = request.app.state.limits
    if len(codes) > limits.max_codes:
        raise TooMany(f"usccs: at most {limits.max_codes} codes per check, got {len(codes)}")
    now = clock.now()
    if known_at is not None and known_at > now:
        raise BadInput(f"known_at: {known_at.isoformat()} is in the future")
    inputs: dict[str, Any] = {
        "usccs": [c.strip().upper() for c in codes],
        "refs": None if refs is None else list(refs),
        "domain": domain,
        "as_of": (as_of or today_of(request)).isoformat(),
        "known_at": (known_at or now).astimezone(dt.UTC).isoformat(),
    }
    scorer = request.app.state.champion.get()
    books = request.app.state.books
    versions: dict[str, Any] = dict(scorer.versions) if scorer is not None else {}

    def compute(s: Session) -> dict[str, Any]:
        # an auditor's moment, or None: the chain prefix the check's own index refresh reads
        known = index_for(s).known_at(s, known_at) if known_at else None
        day = dt.date.fromisoformat(inputs["as_of"])
        grades = None if scorer is None else grades_of(s, scorer, day, books, known)
        output = check_output(s, inputs, known=known, grades=grades)
        record_known(s, versions, known)
        return output

    return decided(
        session,
        kind="check",
        inputs=inputs,
        versions=versions,
        compute=compute,
        reasons=check_reasons,
        key_id=principal.key_id,
    )


def check_codes(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    codes: Sequence[str],
    refs: Sequence[str | None] | None,
    domain: str,
    as_of: dt.date | None,
    known_at: dt.datetime | None,
) -> tuple[dict[str, Any], str]:
    """:func:`decide_check`, its decision recorded: the output and the ledger row's id once it
    is committed. Blocking: run it in the threadpool."""
    output, row = decide_check(
        request,
        session,
        principal,
        codes=codes,
        refs=refs,
        domain=domain,
        as_of=as_of,
        known_at=known_at,
    )
    return output, ledger.append(session, row).decision_id
