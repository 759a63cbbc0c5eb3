"""What the registry's action chain and the decision ledger share: rows read as stored (so that
a garbled row is named, never a crash), the walk that finds edited, re-hashed, deleted and
reordered rows, the signed head, and checkpoints handed to other parties.

Each row carries ``hash`` = sha256(its canonical content + the previous row's hash) and
``seal`` = HMAC-SHA256 of (chain, position, hash) under the key outside the database
(:mod:`registry.seal`). The head row (length, head hash, time) is sealed the same way, and a
checkpoint handed to another party is signed with Ed25519. Without the key a chain can be
re-hashed but not re-sealed nor its head re-sealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from registry.seal import Sealer, key_id, signature_ok
from registry.tables import GENESIS

CHECKPOINT_FIELDS = ("chain", "length", "head_hash", "at", "key_id")


def utc_text(moment: dt.datetime) -> str:
    """A timestamp as naive-UTC ISO text (SQLite gives stored timestamps back without a zone)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` with its zone (a naive stored time is UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def content_hash(content: bytes, prev_hash: str) -> str:
    return hashlib.sha256(content + prev_hash.encode()).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class ChainProblem:
    chain_seq: int | None
    row: str | None  # "action 17", "decision 3fa8…", "entry 9c1e…", "head", "checkpoint x.json"
    kind: str  # garbled, edited, rehashed, deleted, reordered, time, head, signature, key,
    # truncated, checkpoint, inputs, entry_edited, entry_deleted, entry_unproposed, entry_version
    detail: str

    def __str__(self) -> str:
        where = f"chain_seq {self.chain_seq}" if self.chain_seq is not None else "chain"
        return f"{where} ({self.row or '-'}): {self.kind}: {self.detail}"


@dataclass
class ChainReport:
    chain: str
    length: int
    head_hash: str
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- rows as stored ---------------------------------------------------------------------------
class Garbled(ValueError):
    pass


def as_int(value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Garbled(f"{value!r} is not a whole number")
    return value


def as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise Garbled(f"{value!r} is not text")
    return value


def as_text_or_none(value: Any) -> str | None:
    return None if value is None else as_text(value)


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(as_text(value))
    except ValueError as exc:
        raise Garbled(f"{value!r} is not a date") from exc


def as_time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    text = as_text(value)
    if re.search(r"[+-][0-9]{2}$", text):  # PostgreSQL's text of a zone: +00
        text += ":00"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise Garbled(f"{value!r} is not a time") from exc


def as_time_or_none(value: Any) -> dt.datetime | None:
    return None if value is None else as_time(value)


def as_json(value: Any) -> Any:
    if value is None:
        raise Garbled("NULL is not a JSON value here")
    if isinstance(value, str | bytes):  # SQLite keeps JSON as text
        try:
            return json.loads(value)
        except ValueError as exc:
            raise Garbled(f"{str(value)[:40]!r} is not JSON") from exc
    return value


Parsers = Mapping[str, Callable[[Any], Any]]


def read(session: Session, table: Table, parsers: Parsers, order: Column[Any]) -> Iterable[Any]:
    """Every row of ``table`` as stored (no type processing), each as ``(values, garbled)``:
    the parsed values of ``parsers``' columns and ``{column: why}`` for those that do not parse.
    """
    columns = [type_coerce(table.c[name], NullType()).label(name) for name in parsers]
    for raw in session.execute(select(*columns).order_by(order)).mappings():
        values: dict[str, Any] = {}
        garbled: dict[str, str] = {}
        for name, parse in parsers.items():
            try:
                values[name] = parse(raw[name])
            except (Garbled, ValueError, TypeError) as exc:
                values[name], garbled[name] = None, str(exc)
        yield values, garbled


def garbled_problem(chain_seq: int | None, row: str, garbled: dict[str, str]) -> ChainProblem:
    what = "; ".join(f"{k}: {v}" for k, v in garbled.items())
    return ChainProblem(chain_seq, row, "garbled", f"cannot be read as stored ({what})")


# -- the walk ---------------------------------------------------------------------------------
@dataclass
class Link:
    """One stored row of a chain, as the walk needs it (``content`` None: unreadable)."""

    chain_seq: int
    row: str
    prev_hash: str | None
    hash: str | None
    seal: str | None
    content: bytes | None
    recorded_at: dt.datetime | None = None


def walk(
    chain: str, links: list[Link], sealer: Sealer, *, monotone_after: int | None = None
) -> tuple[list[ChainProblem], int, str]:
    """Check every row's hash, seal and link, and the sequence; returns the problems, the
    length and the last hash. With ``monotone_after``, rows after that position must not be
    recorded earlier than the row before them."""
    problems: list[ChainProblem] = []
    links = sorted(links, key=lambda link: link.chain_seq)
    by_hash = {link.hash: link.chain_seq for link in links if link.hash is not None}
    prev: str | None = GENESIS
    expected, last_time = 1, None
    for link in links:
        seq = link.chain_seq
        if seq > expected:
            gap = f"{expected}" if seq == expected + 1 else f"{expected}–{seq - 1}"
            problems.append(ChainProblem(expected, None, "deleted", f"rows {gap} are missing"))
        if link.content is not None and link.hash is not None and link.prev_hash is not None:
            if content_hash(link.content, link.prev_hash) != link.hash:
                problems.append(
                    ChainProblem(seq, link.row, "edited", "its content does not match its hash")
                )
            elif link.seal != sealer.seal(chain, seq, link.hash):
                problems.append(
                    ChainProblem(
                        seq,
                        link.row,
                        "rehashed",
                        "its hash fits its content but its seal does not: written or "
                        "re-hashed without the key",
                    )
                )
        if link.prev_hash != prev and prev is not None and link.prev_hash is not None:
            if link.prev_hash in by_hash:
                detail = f"it links to row {by_hash[link.prev_hash]}, not to the row before it"
                problems.append(ChainProblem(seq, link.row, "reordered", detail))
            elif seq == expected:
                detail = "the row it links to is gone or was edited"
                problems.append(ChainProblem(seq, link.row, "deleted", detail))
        if link.recorded_at is not None:
            moment = aware(link.recorded_at)
            later = monotone_after is not None and seq > monotone_after
            if later and last_time is not None and moment < last_time:
                detail = f"recorded at {utc_text(moment)}, before the row before it"
                problems.append(ChainProblem(seq, link.row, "time", detail))
            last_time = moment if last_time is None else max(moment, last_time)
        prev, expected = link.hash, seq + 1
    if not links:
        return problems, 0, GENESIS
    return problems, links[-1].chain_seq, links[-1].hash or ""


# -- the signed head --------------------------------------------------------------------------
def head_fields(
    chain: str, length: int, head_hash: str, at: dt.datetime | None, kid: str, **extra: Any
) -> dict[str, Any]:
    """What a head row's signature covers."""
    return {
        "chain": chain,
        "length": length,
        "head_hash": head_hash,
        "at": None if at is None else utc_text(at),
        "key_id": kid,
        **extra,
    }


HEAD_PARSERS: Parsers = {
    "length": as_int,
    "head_hash": as_text,
    "recorded_at": as_time_or_none,
    "key_id": as_text_or_none,
    "signature": as_text_or_none,
}


def check_head(
    chain: str,
    session: Session,
    table: Table,
    sealer: Sealer,
    length: int,
    tip: str,
    extra: Parsers | None = None,
) -> tuple[list[ChainProblem], dict[str, Any] | None]:
    """The head row against the rows (a cut tail, an edited head) and its signature."""
    parsers = {**HEAD_PARSERS, **(extra or {})}
    heads = list(read(session, table, parsers, table.c.chain_id))
    if len(heads) != 1:
        detail = f"{len(heads)} head rows instead of one"
        return [ChainProblem(None, "head", "head", detail)], None
    head, garbled = heads[0]
    if garbled:
        return [garbled_problem(None, "head", garbled)], None
    problems = []
    if head["length"] != length or head["head_hash"] != tip:
        problems.append(
            ChainProblem(
                length + 1 if head["length"] > length else None,
                "head",
                "head",
                f"the head says length {head['length']}, head {head['head_hash'][:12]}…; rows "
                f"end at {length} ({tip[:12]}…): rows at the end deleted, or the head edited",
            )
        )
    if head["key_id"] != sealer.key_id:
        problems.append(
            ChainProblem(
                None,
                "head",
                "key",
                f"the chain is sealed with key {head['key_id']}; the configured key is "
                f"{sealer.key_id} ({sealer.path}): every seal will fail",
            )
        )
    more = {name: head[name] for name in (extra or {})}
    fields = head_fields(
        chain, head["length"], head["head_hash"], head["recorded_at"], head["key_id"] or "", **more
    )
    if not sealer.mac_ok(fields, head["signature"]):
        problems.append(
            ChainProblem(
                None, "head", "signature", "the head's signature fails: edited without the key"
            )
        )
    return problems, head


# -- checkpoints ------------------------------------------------------------------------------
def checkpoint(chain: str, length: int, head_hash: str, sealer: Sealer) -> dict[str, Any]:
    """A signed statement of the chain's head now, to publish or hand to another party."""
    fields = head_fields(chain, length, head_hash, dt.datetime.now(dt.UTC), sealer.key_id)
    signature = sealer.sign(fields)
    return {**fields, "public_key": sealer.public_pem, "signature": signature}


def check_checkpoint(
    chain: str,
    name: str,
    document: Any,
    hashes: Mapping[int, str | None],
    length: int,
    sealer: Sealer,
) -> list[ChainProblem]:
    """One checkpoint against the chain: its signature, then the row it names still has the
    hash it names, and the chain is not shorter."""
    where = f"checkpoint {name}"
    if not isinstance(document, dict) or any(k not in document for k in CHECKPOINT_FIELDS):
        return [ChainProblem(None, where, "checkpoint", "not a checkpoint (fields missing)")]
    if document["chain"] != chain:
        detail = f"a checkpoint of the {document['chain']!r} chain, not of {chain!r}"
        return [ChainProblem(None, where, "checkpoint", detail)]
    fields = {k: document[k] for k in CHECKPOINT_FIELDS}
    public = document.get("public_key")
    if not isinstance(public, str) or not signature_ok(public, fields, document.get("signature")):
        return [ChainProblem(None, where, "checkpoint", "its signature fails: it was altered")]
    if key_id(public) != sealer.key_id:
        detail = f"signed by key {key_id(public)}, not by this chain's key {sealer.key_id}"
        return [ChainProblem(None, where, "checkpoint", detail)]
    seq, expected = document["length"], document["head_hash"]
    if not isinstance(seq, int) or seq < 0:
        return [ChainProblem(None, where, "checkpoint", f"length {seq!r} is not a length")]
    if seq > length:
        detail = (
            f"taken at {document['at']} when the chain had {seq} rows; it has {length} now: "
            f"rows {length + 1}–{seq} were cut"
        )
        return [ChainProblem(length + 1, where, "truncated", detail)]
    now = GENESIS if seq == 0 else hashes.get(seq)
    if now != expected:
        detail = (
            f"row {seq} had hash {str(expected)[:12]}… at {document['at']}; it has "
            f"{str(now)[:12]}… now: rewritten since"
        )
        return [ChainProblem(seq, where, "checkpoint", detail)]
    return []
