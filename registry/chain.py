"""The hash chain over every action: each row's hash is sha256(canonical JSON of the row + the
previous row's hash), its seal an HMAC of that hash under the key outside the database, and the
head row (length, head hash, last recorded time) is signed (:mod:`registry.hashchain`).
:func:`verify` names every edited, re-hashed, deleted, reordered or garbled row, a cut tail, a
forged head, and every entry that was edited, deleted or given a wrong version.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any, cast

from sqlalchemy import Table, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from registry import clock, seal
from registry.hashchain import (
    ChainProblem,
    ChainReport,
    Link,
    as_date,
    as_int,
    as_json,
    as_text,
    as_text_or_none,
    as_time,
    aware,
    canonical_json,
    check_checkpoint,
    check_head,
    checkpoint,
    content_hash,
    garbled_problem,
    head_fields,
    read,
    utc_text,
    walk,
)
from registry.seal import Sealer, SealError
from registry.tables import Action, ChainHead, Entry

__all__ = ["ChainProblem", "ChainReport", "utc_text"]

CHAIN = "registry"
CHAIN_ID = 1
ENTRY_FIELDS = (
    "identity",
    "list_type",
    "policy_id",
    "policy_version",
    "policy_sha256",
    "rule",
    "uscc",
    "name",
    "department",
    "penalty_decision_id",
    "evidence",
    "grounds",
    "persons",
    "event_on",
    "evaluated_as_of",
)
ACTIONS = cast(Table, Action.__table__)
ENTRIES = cast(Table, Entry.__table__)
HEADS = cast(Table, ChainHead.__table__)


def canonical_values(values: dict[str, Any]) -> bytes:
    """The content that is hashed: every column but the hash, the seal and the surrogate key."""
    return canonical_json(
        {
            "chain_seq": values["chain_seq"],
            "entry_id": values["entry_id"],
            "seq": values["seq"],
            "action": values["action"],
            "acted_on": values["acted_on"].isoformat(),
            "actor": values["actor"],
            "department": values["department"],
            "reason": values["reason"],
            "details": values["details"],
            "recorded_at": utc_text(values["recorded_at"]),
            "prev_hash": values["prev_hash"],
        }
    )


def canonical(row: Action) -> bytes:
    return canonical_values({name: getattr(row, name) for name in ACTION_PARSERS})


def row_hash(row: Action) -> str:
    """The row's content hash (unkeyed: its seal is what a re-hash without the key lacks)."""
    return content_hash(canonical(row), row.prev_hash)


def entry_content(entry: Entry) -> dict[str, Any]:
    """What the propose action records of its entry (so the chain covers the entry row too),
    as JSON keeps it (dates as ISO text). Entries proposed before revision 0004 recorded the
    fields up to ``persons`` only."""
    return {name: _plain(getattr(entry, name)) for name in ENTRY_FIELDS}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def append(session: Session, row: Action) -> Action:
    """Link ``row`` to the head of the chain, seal it and add it; the head row is locked till
    commit and signed again. ``recorded_at`` is assigned here, under the lock, and is never
    earlier than the row before it's: rows with ``chain_seq`` ≤ L are those recorded by the
    time of row L."""
    sealer = seal.current()
    head = session.scalars(
        select(ChainHead)
        .where(ChainHead.chain_id == CHAIN_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if head.key_id is not None and head.key_id != sealer.key_id:
        raise SealError(
            f"the registry chain is sealed with key {head.key_id}, the configured key "
            f"({sealer.path}) is {sealer.key_id}: restore the chain's key"
        )
    now = clock.now()  # the server's clock, the one the registry's today is read from
    row.recorded_at = max(now, aware(head.recorded_at)) if head.recorded_at else now
    row.details = json.loads(json.dumps(row.details, ensure_ascii=False, default=str))
    row.chain_seq = head.length + 1
    row.prev_hash = head.head_hash
    row.hash = row_hash(row)
    row.seal = sealer.seal(CHAIN, row.chain_seq, row.hash)
    session.add(row)
    session.execute(
        update(ChainHead)
        .where(ChainHead.chain_id == CHAIN_ID)
        .values(**signed_head(sealer, row.chain_seq, row.hash, row.recorded_at, head.legacy_length))
    )
    session.flush()
    return row


def signed_head(
    sealer: Sealer, length: int, head_hash: str, at: dt.datetime | None, legacy_length: int
) -> dict[str, Any]:
    """The head row's values, signed."""
    fields = head_fields(CHAIN, length, head_hash, at, sealer.key_id, legacy_length=legacy_length)
    return {
        "length": length,
        "head_hash": head_hash,
        "recorded_at": at,
        "key_id": sealer.key_id,
        "legacy_length": legacy_length,
        "signature": sealer.mac(fields),
    }


ACTION_PARSERS = {
    "chain_seq": as_int,
    "entry_id": as_text,
    "seq": as_int,
    "action": as_text,
    "acted_on": as_date,
    "actor": as_text,
    "department": as_text,
    "reason": as_text,
    "details": as_json,
    "recorded_at": as_time,
    "prev_hash": as_text,
}
ROW_PARSERS = {"action_id": as_int, **ACTION_PARSERS, "hash": as_text, "seal": as_text_or_none}
ENTRY_PARSERS = {
    "entry_id": as_text,
    "version": as_int,
    **{name: as_text for name in ENTRY_FIELDS},
    "name": as_text_or_none,
    "evidence": as_json,
    "grounds": as_json,
    "persons": as_json,
    "event_on": as_date,
    "evaluated_as_of": as_date,
}


def verify(
    session: Session,
    *,
    sealer: Sealer | None = None,
    checkpoints: dict[str, Any] | None = None,
) -> ChainReport:
    """Recompute the chain: every row's hash, seal and link, the sequence, the recorded times,
    the signed head, the entries, and each of ``checkpoints`` (by name). Never raises on what
    is stored: whatever cannot be read is named as garbled."""
    sealer = sealer or seal.current()
    problems: list[ChainProblem] = []
    links: list[Link] = []
    rows: list[dict[str, Any]] = []
    for values, garbled in read(session, ACTIONS, ROW_PARSERS, ACTIONS.c.chain_seq):
        name = f"action {values['action_id']}"
        if garbled:
            problems.append(garbled_problem(values["chain_seq"], name, garbled))
        if values["chain_seq"] is None:
            continue
        content = None if garbled else canonical_values(values)
        links.append(
            Link(
                values["chain_seq"],
                name,
                values["prev_hash"],
                values["hash"],
                values["seal"],
                content,
                values["recorded_at"],
            )
        )
        rows.append(values)
    legacy = _legacy_length(session)
    found, length, tip = walk(CHAIN, links, sealer, monotone_after=legacy)
    problems.extend(found)
    head, _ = check_head(
        CHAIN, session, HEADS, sealer, length, tip, extra={"legacy_length": as_int}
    )
    problems.extend(head)
    problems.extend(_entries(session, rows))
    hashes = {link.chain_seq: link.hash for link in links}
    for name, document in (checkpoints or {}).items():
        problems.extend(check_checkpoint(CHAIN, name, document, hashes, length, sealer))
    return ChainReport(chain=CHAIN, length=length, head_hash=tip, problems=problems)


def _legacy_length(session: Session) -> int:
    """Rows chained before revision 0005 (recorded before the head was locked: their recorded
    times may be out of order). The head's signature covers it."""
    value = session.execute(select(type_coerce(HEADS.c.legacy_length, NullType()))).scalar()
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _entries(session: Session, rows: list[dict[str, Any]]) -> list[ChainProblem]:
    """Every entry against its actions: proposed, as proposed, with a version counting them."""
    problems: list[ChainProblem] = []
    counts = Counter(r["entry_id"] for r in rows if r["entry_id"] is not None)
    proposed = {r["entry_id"]: r for r in rows if r["action"] == "propose"}
    first: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["entry_id"] is not None:
            first.setdefault(r["entry_id"], r)
    seen: set[str] = set()
    for entry, garbled in read(session, ENTRIES, ENTRY_PARSERS, ENTRIES.c.entry_id):
        entry_id = entry["entry_id"]
        name = f"entry {entry_id}"
        if garbled:
            problems.append(garbled_problem(None, name, garbled))
        if entry_id is None:
            continue
        seen.add(entry_id)
        propose = proposed.get(entry_id)
        if propose is None:
            problems.append(
                ChainProblem(None, name, "entry_unproposed", "no propose action in the chain")
            )
        if entry["version"] is not None and entry["version"] != counts[entry_id]:
            problems.append(
                ChainProblem(
                    None,
                    name,
                    "entry_version",
                    f"version {entry['version']}, but the chain holds {counts[entry_id]} "
                    "action(s) of it",
                )
            )
        details = propose["details"] if propose is not None else None
        recorded = details.get("entry") if isinstance(details, dict) else None
        if isinstance(recorded, dict) and not garbled:
            now = {k: _plain(entry.get(k)) for k in recorded}
            changed = sorted(k for k in recorded if now[k] != recorded[k])
            if changed:
                assert propose is not None
                problems.append(
                    ChainProblem(
                        propose["chain_seq"],
                        name,
                        "entry_edited",
                        f"differs from what was proposed in {', '.join(changed)}",
                    )
                )
    for entry_id in sorted(set(first) - seen):
        r = proposed.get(entry_id) or first[entry_id]
        problems.append(
            ChainProblem(
                r["chain_seq"],
                f"entry {entry_id}",
                "entry_deleted",
                f"the entry its action {r['action']} acts on is gone",
            )
        )
    return problems


def take_checkpoint(session: Session, *, sealer: Sealer | None = None) -> dict[str, Any]:
    """A signed statement of the chain's head now, to publish or hand to another party (after
    verifying the chain: raises :class:`ValueError` with the problems when it does not)."""
    sealer = sealer or seal.current()
    report = verify(session, sealer=sealer)
    if not report.ok:
        raise ValueError("\n".join(map(str, report.problems)))
    return checkpoint(CHAIN, report.length, report.head_hash, sealer)
