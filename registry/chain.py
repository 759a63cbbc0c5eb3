"""The hash chain over every action: each row's hash is sha256(canonical JSON of the row + the
previous row's hash). :func:`verify` finds edited, deleted and reordered rows and says which.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.tables import GENESIS, Action, ChainHead, Entry

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


def utc_text(moment: dt.datetime) -> str:
    """A timestamp as naive-UTC ISO text (SQLite gives stored timestamps back without a zone)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def canonical(row: Action) -> bytes:
    """The content that is hashed: every column but the hash itself and the surrogate key."""
    content: dict[str, Any] = {
        "chain_seq": row.chain_seq,
        "entry_id": row.entry_id,
        "seq": row.seq,
        "action": row.action,
        "acted_on": row.acted_on.isoformat(),
        "actor": row.actor,
        "department": row.department,
        "reason": row.reason,
        "details": row.details,
        "recorded_at": utc_text(row.recorded_at),
        "prev_hash": row.prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(row: Action) -> str:
    return hashlib.sha256(canonical(row) + row.prev_hash.encode()).hexdigest()


def entry_content(entry: Entry) -> dict[str, Any]:
    """What the propose action records of its entry (so the chain covers the entry row too),
    as JSON keeps it (dates as ISO text). Entries proposed before revision 0004 recorded the
    fields up to ``persons`` only."""
    return {name: _plain(getattr(entry, name)) for name in ENTRY_FIELDS}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def append(session: Session, row: Action) -> Action:
    """Link ``row`` to the head of the chain and add it (the head row is locked till commit)."""
    head = session.scalars(
        select(ChainHead).where(ChainHead.chain_id == CHAIN_ID).with_for_update()
    ).one()
    row.details = json.loads(json.dumps(row.details, ensure_ascii=False, default=str))
    row.chain_seq = head.length + 1
    row.prev_hash = head.head_hash
    row.hash = row_hash(row)
    session.add(row)
    session.execute(
        update(ChainHead)
        .where(ChainHead.chain_id == CHAIN_ID)
        .values(length=row.chain_seq, head_hash=row.hash)
    )
    session.flush()
    return row


@dataclass(frozen=True)
class ChainProblem:
    chain_seq: int | None
    action_id: int | None
    kind: str  # edited, deleted, reordered, head, entry_edited
    detail: str

    def __str__(self) -> str:
        return f"chain_seq {self.chain_seq} (action {self.action_id}): {self.kind}: {self.detail}"


@dataclass
class ChainReport:
    length: int
    head_hash: str
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session) -> ChainReport:
    """Recompute the chain: every row's hash, every link, the sequence, the head and the entries."""
    rows = list(session.scalars(select(Action).order_by(Action.chain_seq)))
    head = session.get(ChainHead, CHAIN_ID)
    by_hash = {r.hash: r.chain_seq for r in rows}
    problems: list[ChainProblem] = []
    prev, expected = GENESIS, 1
    for r in rows:
        if r.chain_seq != expected:
            gap = f"{expected}" if r.chain_seq == expected + 1 else f"{expected}–{r.chain_seq - 1}"
            problems.append(ChainProblem(expected, None, "deleted", f"rows {gap} are missing"))
        if row_hash(r) != r.hash:
            problems.append(
                ChainProblem(
                    r.chain_seq, r.action_id, "edited", "its content does not match its hash"
                )
            )
        if r.prev_hash != prev:
            if r.prev_hash in by_hash:
                detail = f"it links to row {by_hash[r.prev_hash]}, not to the row before it"
                problems.append(ChainProblem(r.chain_seq, r.action_id, "reordered", detail))
            elif r.chain_seq == expected:
                problems.append(
                    ChainProblem(
                        r.chain_seq,
                        r.action_id,
                        "deleted",
                        "the row it links to is gone or was edited",
                    )
                )
        prev, expected = r.hash, r.chain_seq + 1
    length, tip = (rows[-1].chain_seq, rows[-1].hash) if rows else (0, GENESIS)
    if head is None or head.length != length or head.head_hash != tip:
        got = "missing" if head is None else f"length {head.length}, head {head.head_hash[:12]}…"
        problems.append(
            ChainProblem(
                length + 1 if head and head.length > length else None,
                None,
                "head",
                f"chain head says {got}; rows end at {length}"
                " (rows at the end deleted, or the head edited)",
            )
        )
    proposed = {r.entry_id: r for r in rows if r.action == "propose"}
    for entry in session.scalars(select(Entry)):
        first = proposed.get(entry.entry_id)
        recorded = first.details.get("entry") if first is not None else None
        now = entry_content(entry)
        if first and recorded is not None and {k: now.get(k) for k in recorded} != recorded:
            problems.append(
                ChainProblem(
                    first.chain_seq,
                    first.action_id,
                    "entry_edited",
                    f"entry {entry.entry_id} differs from what was proposed",
                )
            )
    return ChainReport(length=len(rows), head_hash=tip, problems=problems)
