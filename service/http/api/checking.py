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
from registry.check import check_frozen
from registry.frozen import Frozen
from registry.index import index_for
from service.engine import ledger
from service.engine.books import Books
from service.engine.decisions import decisions_of
from service.engine.errors import BadInput, ServiceError
from service.engine.keys import Principal
from service.engine.snapshots import Snapshots
from service.http.api.answers import (
    check_output,
    check_reasons,
    check_result,
    decided,
    grades_of,
    record_known,
)
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
    inputs = _inputs(request, codes=codes, refs=refs, domain=domain, as_of=as_of, known_at=known_at)
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


def _inputs(
    request: Request,
    *,
    codes: Sequence[str],
    refs: Sequence[str | None] | None,
    domain: str,
    as_of: dt.date | None,
    known_at: dt.datetime | None,
) -> dict[str, Any]:
    """A check's inputs as the ledger records them, checked."""
    limits = request.app.state.limits
    if len(codes) > limits.max_codes:
        raise TooMany(f"usccs: at most {limits.max_codes} codes per check, got {len(codes)}")
    now = clock.now()
    if known_at is not None and known_at > now:
        raise BadInput(f"known_at: {known_at.isoformat()} is in the future")
    return {
        "usccs": [c.strip().upper() for c in codes],
        "refs": None if refs is None else list(refs),
        "domain": domain,
        "as_of": (as_of or today_of(request)).isoformat(),
        "known_at": (known_at or now).astimezone(dt.UTC).isoformat(),
    }


def frozen_for(
    request: Request, session: Session, known_at: dt.datetime | None, codes: int
) -> Frozen | None:
    """The process's frozen registry when a check may be answered from it: the registry as
    known now (no ``known_at``), a check small enough to answer on the event loop, and a
    session on the service's own database (not a caller's connection); None otherwise."""
    snapshots: Snapshots | None = getattr(request.app.state, "snapshots", None)
    if snapshots is None or known_at is not None:
        return None
    if codes > request.app.state.limits.snapshot_codes_max:
        return None
    if session.get_bind() is not request.app.state.ledger.engine:
        return None
    return snapshots.current()


def registry_changed(request: Request, session: Session) -> None:
    """After a registry action committed through ``session``: the process's frozen registry
    refreshed before the action's answer is given. Blocking: call it in the threadpool."""
    snapshots: Snapshots | None = getattr(request.app.state, "snapshots", None)
    if snapshots is not None and session.get_bind() is request.app.state.ledger.engine:
        snapshots.changed()


class _Unready(Exception):
    """What a frozen answer needs is not in memory: the check takes the database path."""


def decide_check_frozen(
    request: Request,
    principal: Principal,
    frozen: Frozen,
    *,
    codes: Sequence[str],
    refs: Sequence[str | None] | None,
    domain: str,
    as_of: dt.date | None,
) -> tuple[dict[str, Any], ledger.Row] | None:
    """:func:`decide_check` for now (no ``known_at``), answered from ``frozen`` with no
    database read and no thread: None when something it needs is not in memory (a code whose
    enterprise the registry has not read yet, no current score book for the grades), and
    :func:`decide_check` answers instead. Its decision records ``frozen``'s chain head and
    prefix, so that it replays as it was answered."""
    inputs = _inputs(request, codes=codes, refs=refs, domain=domain, as_of=as_of, known_at=None)
    day = dt.date.fromisoformat(inputs["as_of"])
    scorer = request.app.state.champion.scorer  # never loading one here: that blocks
    versions: dict[str, Any] = dict(scorer.versions) if scorer is not None else {}
    grades = None
    if scorer is not None:
        books: Books = request.app.state.books
        book = books.kept(scorer, day, frozen.known.load)
        if book is None:
            return None

        def grades(clear: list[str]) -> dict[str, str]:
            if not clear:
                return {}
            batch = book.batch_of(clear, frozen)
            if batch is None:
                raise _Unready(clear)
            return {d.uscc: d.grade for d in decisions_of(scorer, batch)}

    try:
        found = check_frozen(
            frozen,
            usccs=inputs["usccs"],
            refs=inputs["refs"],
            domain=domain,
            as_of=day,
            grades=grades,
        )
    except _Unready:
        return None
    if found is None:
        request.app.state.snapshots.want(inputs["usccs"])
        return None
    output = check_result(inputs, found)
    versions["registry_known"] = {"chain": frozen.known.chain, "load": frozen.known.load}
    versions["registry_chain"] = frozen.chain
    row = ledger.decision(
        kind="check",
        inputs=inputs,
        versions=versions,
        output=output,
        reasons=check_reasons(output),
        key_id=principal.key_id,
    )
    return output, row


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
