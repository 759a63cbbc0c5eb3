"""Verifying the decision ledger's chain and checkpointing its head: every edited, re-hashed,
deleted, reordered or garbled decision is named, and every decision whose inputs no longer give
its recorded inputs hash. Query functions take the session and never commit."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from registry import seal
from registry.hashchain import (
    ChainProblem,
    ChainReport,
    Link,
    as_int,
    as_json,
    as_text,
    as_text_or_none,
    as_time,
    check_checkpoint,
    check_head,
    checkpoint,
    content_hash,
    garbled_problem,
    read,
    walk,
)
from registry.seal import Sealer
from service.engine import ledger
from service.store.tables import Decision, LedgerHead

DECISIONS = cast(Table, Decision.__table__)
HEADS = cast(Table, LedgerHead.__table__)
PARSERS = {
    "decision_id": as_text,
    "kind": as_text,
    "subject": as_text_or_none,
    "key_id": as_text_or_none,
    "decided_at": as_time,
    "inputs": as_json,
    "inputs_sha256": as_text,
    "versions": as_json,
    "output": as_json,
    "reasons": as_json,
    "chain_seq": as_int,
    "prev_hash": as_text,
    "hash": as_text,
    "seal": as_text_or_none,
}


def verify(
    session: Session, *, sealer: Sealer | None = None, checkpoints: dict[str, Any] | None = None
) -> ChainReport:
    """Recompute the ledger's chain, its signed head and each of ``checkpoints`` (by name);
    never raises on what is stored."""
    sealer = sealer or seal.current()
    problems: list[ChainProblem] = []
    links: list[Link] = []
    for values, garbled in read(session, DECISIONS, PARSERS, DECISIONS.c.chain_seq):
        name = f"decision {values['decision_id']}"
        if garbled:
            problems.append(garbled_problem(values["chain_seq"], name, garbled))
        elif ledger.inputs_hash(values["inputs"]) != values["inputs_sha256"]:
            problems.append(
                ChainProblem(
                    values["chain_seq"], name, "inputs", "its inputs do not give its inputs_sha256"
                )
            )
        if values["chain_seq"] is None:
            continue
        body = None if garbled else ledger.content(values)
        links.append(
            Link(
                values["chain_seq"], name, values["prev_hash"], values["hash"], values["seal"], body
            )
        )
    found, length, tip = walk(ledger.CHAIN, links, sealer)
    problems.extend(found)
    problems.extend(check_head(ledger.CHAIN, session, HEADS, sealer, length, tip)[0])
    hashes = {link.chain_seq: link.hash for link in links}
    for name, document in (checkpoints or {}).items():
        problems.extend(check_checkpoint(ledger.CHAIN, name, document, hashes, length, sealer))
    return ChainReport(chain=ledger.CHAIN, length=length, head_hash=tip, problems=problems)


def row_problems(decision: Decision, *, sealer: Sealer | None = None) -> list[str]:
    """What is wrong with one stored decision on its own: its inputs hash, its content hash,
    its seal (a replay names these before recomputing anything)."""
    sealer = sealer or seal.current()
    out = []
    if ledger.inputs_hash(decision.inputs) != decision.inputs_sha256:
        out.append("ledger: the recorded inputs do not give the recorded inputs_sha256")
    if content_hash(ledger.content(decision), decision.prev_hash) != decision.hash:
        out.append(f"ledger: decision {decision.chain_seq}'s content does not match its hash")
    elif decision.seal != sealer.seal(ledger.CHAIN, decision.chain_seq, decision.hash):
        out.append(f"ledger: decision {decision.chain_seq}'s seal fails: rewritten without the key")
    return out


def take_checkpoint(session: Session, *, sealer: Sealer | None = None) -> dict[str, Any]:
    """A signed statement of the ledger's head now (after verifying it: raises
    :class:`ValueError` with the problems when it does not verify)."""
    sealer = sealer or seal.current()
    report = verify(session, sealer=sealer)
    if not report.ok:
        raise ValueError("\n".join(map(str, report.problems)))
    return checkpoint(ledger.CHAIN, report.length, report.head_hash, sealer)
