"""A recorded decision replayed: recomputed from its recorded inputs by the code that answered it
(:mod:`service.http.api.answers`, :func:`service.http.api.quotes.quote_outputs`) and compared with
the recorded output."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from registry.index import index_for
from service.engine import ledger
from service.engine.decisions import Scorer
from service.engine.errors import ServiceError
from service.engine.ledger_chain import row_problems
from service.engine.quotes import Quoter
from service.http.api.answers import check_output, grades_of, known_of, score_output
from service.http.api.quotes import quote_outputs
from service.store.tables import Decision


class Conflict(ServiceError):
    status = 409
    kind = "conflict"


def _same_versions(decision: Decision, versions: dict[str, str]) -> None:
    if {k: decision.versions.get(k) for k in versions} != versions:
        raise Conflict(
            f"decided with {decision.versions}; the service now runs {versions}: "
            "replay it where those versions serve"
        )


def replay(
    session: Session, scorer: Scorer | None, decision: Decision, tariff: Any = None
) -> list[str]:
    """Compute the decision again from its recorded inputs; the differences (none: reproduced).
    Scores and quotes need the versions that made them (model, policies, tariff). A decision
    whose row fails its own checks (inputs hash, chain hash, seal) is not reproduced, whatever
    the recomputation gives: its recorded inputs are not the ones that were answered."""
    tampered = row_problems(decision)
    if tampered:
        return tampered
    known = known_of(decision.versions) or index_for(session).known
    if decision.kind == "check":
        grades = None
        if "model" in decision.versions:  # grades were read: the same model must give them
            if scorer is None:
                raise Conflict("no champion model is loaded to replay with")
            _same_versions(decision, scorer.versions)
            as_of = dt.date.fromisoformat(decision.inputs["as_of"])
            grades = grades_of(session, scorer, as_of, None, known)
        fresh = check_output(session, decision.inputs, known=known, grades=grades)
        return ledger.differences(decision.output, fresh)
    if scorer is None:
        raise Conflict("no champion model is loaded to replay with")
    if decision.kind == "score":
        _same_versions(decision, scorer.versions)
        fresh = score_output(session, scorer, decision.inputs, known=known)
        return ledger.differences(decision.output, fresh)
    if tariff is None:
        raise Conflict("no tariff is loaded to replay a quote with")
    quoter = Quoter(scorer, tariff)
    _same_versions(decision, quoter.versions)
    listings = index_for(session).view(known)
    fresh = {"quotes": quote_outputs(session, quoter, decision.inputs["quotes"], listings=listings)}
    return ledger.differences(decision.output, fresh)
