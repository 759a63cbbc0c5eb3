"""Answers as the ledger keeps them: each computed from its recorded inputs alone, so that the
route and the replay of a decision run the same code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from features.store import History, read_history
from registry.check import check
from registry.index import HEAD, InForce, chain_read
from service import ledger
from service.api.schemas import ListingRef
from service.books import Books
from service.decisions import Scorer, decisions_of, score_batch
from service.errors import NotFound, ServiceError
from service.ledger_chain import row_problems
from service.tables import Decision


class Conflict(ServiceError):
    status = 409
    kind = "conflict"


LISTING_FIELDS = tuple(ListingRef.model_fields)


def listing(item: InForce) -> dict[str, Any]:
    return {k: _json(getattr(item, k)) for k in LISTING_FIELDS}


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def score_output(
    session: Session,
    scorer: Scorer,
    inputs: dict[str, Any],
    *,
    history: History | None = None,
    books: Books | None = None,
) -> dict[str, Any]:
    """A score's output (everything but its decision id) from ``{uscc, as_of}``: from the day's
    score book when there is a current one, computed otherwise (``history`` is the enterprise's,
    when the caller has read it already)."""
    uscc, as_of = inputs["uscc"], dt.date.fromisoformat(inputs["as_of"])
    batch = None
    if books is not None and history is None:
        batch = books.batch(session, scorer, as_of=as_of, usccs=[uscc])
    if batch is None:
        history = history or read_history(session, usccs=[uscc])
        known = history.table_at("enterprises", as_of)
        if not (known["uscc"] == uscc).any():
            raise NotFound(f"uscc: no enterprise {uscc} known as of {as_of}")
        batch = score_batch(session, scorer, as_of=as_of, usccs=[uscc], history=history)
    d = decisions_of(scorer, batch)[0]
    return {
        "uscc": d.uscc,
        "as_of": d.as_of.isoformat(),
        "score": d.score,
        "grade": d.grade,
        "model_grade": d.model_grade,
        "probability": d.probability,
        "reasons": [{k: _json(v) for k, v in r.items()} for r in d.reasons],
        "recourse": d.recourse,
        "recourse_note": d.recourse_note,
        "overrides": [asdict(o) for o in d.overrides],
        "listings": [listing(x) for x in d.listings],
        "model_version": d.model_version,
        "policy_version": d.policy_version,
        "versions": d.versions,
    }


def check_output(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    """A registry check's output from ``{usccs, domain, as_of}``."""
    as_of = dt.date.fromisoformat(inputs["as_of"])
    found = check(session, usccs=inputs["usccs"], domain=inputs["domain"], as_of=as_of)
    return {
        "domain": inputs["domain"],
        "as_of": as_of.isoformat(),
        "results": [
            {
                "uscc": c.uscc,
                "restricted": c.restricted,
                "measures": list(c.measures),
                "entries": [listing(x) for x in c.entries],
            }
            for c in found.values()
        ],
    }


def answered(
    session: Session,
    *,
    kind: str,
    inputs: dict[str, Any],
    versions: dict[str, Any],
    compute: Callable[[Session], dict[str, Any]],
    reasons: Callable[[dict[str, Any]], list[Any]],
    subject: str | None = None,
    key_id: str | None = None,
) -> tuple[dict[str, Any], ledger.Row]:
    """Compute an answer in a read transaction, then record it in the decision ledger in a short
    write transaction of its own, shared with the answers given meanwhile (group commit:
    recording inside the read made concurrent SQLite answers fail with "database is locked",
    one commit each made them queue). The registry chain head read with the answer is recorded
    too. The answer is returned only once its decision is committed."""
    with session.begin():
        output = compute(session)
        chain = chain_version(session)
    row = ledger.append(
        session,
        ledger.decision(
            kind=kind,
            inputs=inputs,
            versions={**versions, "registry_chain": chain},
            output=output,
            reasons=reasons(output),
            subject=subject,
            key_id=key_id,
        ),
    )
    return output, row


def chain_version(session: Session) -> str:
    """The registry's action chain head (length:hash): what any listing was read against (as
    the transaction's index refresh read it, when there was one)."""
    read = chain_read(session)
    if read is not None:
        return f"{read[0]}:{read[1]}"
    row = session.connection().execute(HEAD).first()
    return "0:genesis" if row is None else f"{row[0]}:{row[1]}"


def score_reasons(output: dict[str, Any]) -> list[Any]:
    return [
        *({"feature": r["feature"], "points": r["points"]} for r in output["reasons"]),
        *({"override": o["code"], "grade": o["grade"]} for o in output["overrides"]),
    ]


def check_reasons(output: dict[str, Any]) -> list[Any]:
    return [
        {"uscc": r["uscc"], "entry_id": e["entry_id"], "rule": e["rule"], "policy": e["policy"]}
        for r in output["results"]
        for e in r["entries"]
    ]


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
    if decision.kind == "check":
        return ledger.differences(decision.output, check_output(session, decision.inputs))
    if scorer is None:
        raise Conflict("no champion model is loaded to replay with")
    if decision.kind == "score":
        _same_versions(decision, scorer.versions)
        return ledger.differences(decision.output, score_output(session, scorer, decision.inputs))
    if tariff is None:
        raise Conflict("no tariff is loaded to replay a quote with")
    from service.api.quotes import quote_outputs
    from service.quotes import Quoter

    quoter = Quoter(scorer, tariff)
    _same_versions(decision, quoter.versions)
    fresh = {"quotes": quote_outputs(session, quoter, decision.inputs["quotes"])}
    return ledger.differences(decision.output, fresh)
