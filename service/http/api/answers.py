"""Answers as the ledger keeps them: each computed from its recorded inputs alone, so that the
route and the replay of a decision run the same code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from features.store import History, read_history
from registry.check import Check, check
from registry.index import HEAD, InForce, Known, chain_read, index_for
from service.engine import ledger
from service.engine.books import Books
from service.engine.decisions import Scorer, decisions_of, score_batch
from service.engine.errors import NotFound
from service.http.api.schemas import ListingRef

LISTING_FIELDS = tuple(ListingRef.model_fields)


def listing(item: InForce) -> dict[str, Any]:
    return {k: _json(getattr(item, k)) for k in LISTING_FIELDS}


def _refs(evidence: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"table": t, "id": i} for t, i in evidence]


def check_entry(item: InForce) -> dict[str, Any]:
    """An entry in force as a check shows it (listing fields, name, persons, grounds)."""
    return {
        **listing(item),
        "name": item.name,
        "persons": [{"role": r, "name": n} for r, n in item.persons],
        "grounds": [
            {
                "rule": g.rule,
                "title": g.title,
                "basis": g.basis,
                "evidence": _refs(g.evidence),
                "event_on": g.event_on.isoformat(),
            }
            for g in item.grounds
        ],
        "evidence": _refs(item.evidence),
    }


def known_of(versions: dict[str, Any]) -> Known | None:
    """What the registry knew when a decision was answered, as its versions recorded it (None
    for decisions recorded before it was: replayed against the registry as known now)."""
    found = versions.get("registry_known")
    return None if not found else Known(int(found["chain"]), int(found["load"]))


def record_known(session: Session, versions: dict[str, Any], known: Known | None = None) -> Known:
    """Put what the answer read the registry as (``known``, or the prefix the transaction's
    index refresh read) into ``versions``."""
    if known is None:
        read = chain_read(session)
        known = index_for(session).known if read is None else Known(read[0], read[2])
    versions["registry_known"] = {"chain": known.chain, "load": known.load}
    return known


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def score_output(
    session: Session,
    scorer: Scorer,
    inputs: dict[str, Any],
    *,
    history: History | None = None,
    books: Books | None = None,
    known: Known | None = None,
) -> dict[str, Any]:
    """A score's output (everything but its decision id) from ``{uscc, as_of}``: from the day's
    score book when there is a current one, computed otherwise (``history`` is the enterprise's,
    when the caller has read it already; ``known``: listings as the registry knew them then,
    for a replay)."""
    uscc, as_of = inputs["uscc"], dt.date.fromisoformat(inputs["as_of"])
    batch = None
    if books is not None and history is None and known is None:
        batch = books.batch(session, scorer, as_of=as_of, usccs=[uscc])
    if batch is None:
        history = history or read_history(session, usccs=[uscc])
        held = history.table_at("enterprises", as_of)
        if not (held["uscc"] == uscc).any():
            raise NotFound(f"uscc: no enterprise {uscc} known as of {as_of}")
        listings = None if known is None else index_for(session).view(known)
        batch = score_batch(
            session, scorer, as_of=as_of, usccs=[uscc], history=history, listings=listings
        )
    d = decisions_of(scorer, batch)[0]
    held = {} if d.model_score is None else {"model_score": d.model_score}  # 2026.2 on
    return {
        "uscc": d.uscc,
        "as_of": d.as_of.isoformat(),
        "score": d.score,
        "grade": d.grade,
        "model_grade": d.model_grade,
        **held,
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


def check_output(
    session: Session,
    inputs: dict[str, Any],
    *,
    known: Known | None,
    grades: Callable[[list[str]], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A registry check's output from ``{usccs, refs, domain, as_of, known_at}``, the registry
    as ``known`` then (None: as the transaction reads it now); ``grades`` gives the credit grade
    of the clear codes (for incentives)."""
    as_of = dt.date.fromisoformat(inputs["as_of"])
    found = check(
        session,
        usccs=inputs["usccs"],
        refs=inputs.get("refs"),
        domain=inputs["domain"],
        as_of=as_of,
        known=known,
        grades=grades,
    )
    return check_result(inputs, found)


def check_result(inputs: dict[str, Any], found: list[Check]) -> dict[str, Any]:
    """A registry check's output from its inputs and its answers."""
    return {
        "domain": inputs["domain"],
        "as_of": dt.date.fromisoformat(inputs["as_of"]).isoformat(),
        "known_at": inputs["known_at"],
        "results": [_check_item(c) for c in found],
    }


def _check_item(c: Check) -> dict[str, Any]:
    return {
        "ref": c.ref,
        "uscc": c.uscc,
        "status": c.status,
        "restricted": c.restricted,
        "name": c.name,
        "note": c.note,
        "grade": c.grade,
        "measures": list(c.measures),
        "entries": [check_entry(x) for x in c.entries],
        "incentives": list(c.incentives),
    }


def grades_of(
    session: Session, scorer: Scorer, as_of: dt.date, books: Books | None, known: Known | None
) -> Callable[[list[str]], dict[str, str]]:
    """The credit grades of codes on ``as_of`` (from the day's book when current, computed
    otherwise), listings as ``known`` (None: as read now)."""

    def grades(codes: list[str]) -> dict[str, str]:
        if not codes:
            return {}
        batch = None if books is None else books.batch(session, scorer, as_of=as_of, usccs=codes)
        if batch is None:
            listings = None if known is None else index_for(session).view(known)
            batch = score_batch(session, scorer, as_of=as_of, usccs=codes, listings=listings)
        return {d.uscc: d.grade for d in decisions_of(scorer, batch)}

    return grades


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
    """:func:`decided`, and its decision recorded in the decision ledger (group commit: see
    :func:`service.engine.ledger.append`): returns once the decision is committed."""
    output, row = decided(
        session,
        kind=kind,
        inputs=inputs,
        versions=versions,
        compute=compute,
        reasons=reasons,
        subject=subject,
        key_id=key_id,
    )
    return output, ledger.append(session, row)


def decided(
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
    """Compute an answer in a read transaction, and the decision that records it, not yet
    written: the caller records it in a short write transaction of its own, shared with the
    answers given meanwhile (recording inside the read made concurrent SQLite answers fail with
    "database is locked", one commit each made them queue), and gives the answer only once its
    decision is committed. The registry chain head read with the answer is recorded too, and
    what the registry was known as (``compute`` may set ``registry_known`` in ``versions``
    itself)."""
    with session.begin():
        output = compute(session)
        recorded = {**versions, "registry_chain": chain_version(session)}
        if "registry_known" not in recorded:
            record_known(session, recorded)
    row = ledger.decision(
        kind=kind,
        inputs=inputs,
        versions=recorded,
        output=output,
        reasons=reasons(output),
        subject=subject,
        key_id=key_id,
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
