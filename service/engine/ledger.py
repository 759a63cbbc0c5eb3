"""The decision ledger: every score, quote and check answered is recorded with its inputs and
their hash, the versions that answered (model, scoring policy, tariff, …), the output and its
reasons. Rows are only inserted, by :func:`append`, in group-committed transactions of their
own, through the Core (no ORM objects, no session machinery on the way: every answer waits for
its row); the query functions take the session and never commit.

The ledger is a hash chain like the registry's (:mod:`registry.hashchain`): each group locks the
``ledger_chain`` head row, numbers, hashes and seals its rows in order, and seals the new head
once; :mod:`service.engine.ledger_chain` verifies it. A process remembers the head it wrote
last: when no other process wrote since, the group is chained on it and the head moved in one
conditional UPDATE (the lock, the check and the write at once), which saves a statement per
group."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert, update
from sqlalchemy.orm import Session

from registry import seal
from registry.hashchain import aware, content_hash, head_fields, utc_text
from registry.seal import Sealer, SealError
from service.store.tables import Decision, LedgerHead

KINDS = ("score", "quote", "check")
CHAIN = "ledger"
CHAIN_ID = 1


def canonical(value: Any) -> str:
    """The JSON text a value is hashed and compared by: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def inputs_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(inputs).encode()).hexdigest()


@dataclass(slots=True)
class Row:
    """A decision to record, column by column as the ``decisions`` table has them (making an
    ORM object instead cost three times as long)."""

    decision_id: str
    kind: str
    subject: str | None
    key_id: str | None
    decided_at: dt.datetime
    inputs: dict[str, Any]
    inputs_sha256: str
    versions: dict[str, Any]
    output: dict[str, Any]
    reasons: list[Any]
    chain_seq: int = 0  # the link, assigned when the row is written
    prev_hash: str = ""
    hash: str = ""
    seal: str = ""


def content(values: Any) -> bytes:
    """What a decision's hash covers: every column but the hash and the seal (``values`` a
    :class:`Row`, a stored decision, or a mapping of its columns)."""
    get = values.__getitem__ if isinstance(values, dict) else values.__getattribute__
    return canonical(
        {
            "decision_id": get("decision_id"),
            "kind": get("kind"),
            "subject": get("subject"),
            "key_id": get("key_id"),
            "decided_at": utc_text(get("decided_at")),
            "inputs": get("inputs"),
            "inputs_sha256": get("inputs_sha256"),
            "versions": get("versions"),
            "output": get("output"),
            "reasons": get("reasons"),
            "chain_seq": get("chain_seq"),
            "prev_hash": get("prev_hash"),
        }
    ).encode()


def decision(
    *,
    kind: str,
    inputs: dict[str, Any],
    versions: dict[str, Any],
    output: dict[str, Any],
    reasons: list[Any],
    subject: str | None = None,
    key_id: str | None = None,
) -> Row:
    """A new, unsaved decision row (its id and time assigned now)."""
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {KINDS}")
    return Row(
        decision_id=uuid.uuid4().hex,
        kind=kind,
        subject=subject,
        key_id=key_id,
        decided_at=dt.datetime.now(dt.UTC),
        inputs=inputs,
        inputs_sha256=inputs_hash(inputs),
        versions=versions,
        output=output,
        reasons=reasons,
    )


@dataclass(eq=False)
class _Waiting:
    row: Row
    done: bool = False
    error: BaseException | None = None


@dataclass(eq=False)
class _Group:
    cond: threading.Condition
    waiting: list[_Waiting]
    writing: bool = False


_GROUPS: dict[str, _Group] = {}
_GUARD = threading.Lock()
MAX_GROUP = 1_000  # decisions written by one transaction at most
TABLE = cast(Table, Decision.__table__)
COLUMNS = tuple(c.name for c in TABLE.columns)
INSERT = insert(TABLE)  # built once: every answer runs it
if tuple(f.name for f in fields(Row)) != COLUMNS:
    raise RuntimeError(f"ledger.Row's fields are not the decisions table's columns {COLUMNS}")


def append(session: Session, row: Row) -> Row:
    """Record ``row`` in a transaction of its own and return once it is committed.

    Group commit: answers arriving while a transaction is being written wait for the next one,
    which writes all of theirs, instead of queueing on the database's write lock one commit
    each. The first waiter writes on a connection of the ``session``'s engine (or in the
    session, with no transaction open, when it is bound to a caller's connection); an error
    reaches every answer of that group, none of which is then recorded."""
    bind = session.get_bind()
    key = str(bind.engine.url)
    writer = _WRITERS.get(key)
    loop = writer.loop_for_thread() if writer is not None and isinstance(bind, Engine) else None
    if writer is not None and loop is not None:
        return asyncio.run_coroutine_threadsafe(writer.append(row), loop).result()
    with _GUARD:
        group = _GROUPS.setdefault(key, _Group(threading.Condition(), []))
    me = _Waiting(row)
    with group.cond:
        group.waiting.append(me)
        while not me.done:
            if group.writing:
                group.cond.wait()
                continue
            group.writing = True
            batch, group.waiting = group.waiting[:MAX_GROUP], group.waiting[MAX_GROUP:]
            group.cond.release()
            error: BaseException | None = None
            try:
                _write(session, [w.row for w in batch], key)
            except BaseException as exc:  # handed to every waiter of the group
                error = exc
            finally:
                group.cond.acquire()
                group.writing = False
                for w in batch:
                    w.done, w.error = True, error
                group.cond.notify_all()
    if me.error is not None:
        raise me.error
    return row


HEAD = cast(Table, LedgerHead.__table__)
# the head row locked and read in one statement: an UPDATE takes PostgreSQL's row lock (as
# SELECT … FOR UPDATE would) and SQLite's write lock before anything is read (reading first
# would fail, not wait, when another process wrote meanwhile)
LOCK = (
    update(HEAD)
    .where(HEAD.c.chain_id == CHAIN_ID)
    .values(length=HEAD.c.length)
    .returning(HEAD.c.length, HEAD.c.head_hash, HEAD.c.recorded_at, HEAD.c.key_id)
)
SET_HEAD = update(HEAD).where(HEAD.c.chain_id == CHAIN_ID)
# the head moved from the one this process wrote last, if it still is the head (built once)
MOVE = SET_HEAD.where(
    HEAD.c.length == bindparam("was_length"), HEAD.c.head_hash == bindparam("was_hash")
)


@dataclass(frozen=True)
class _Head:
    length: int
    head_hash: str
    recorded_at: dt.datetime
    key_id: str


_LAST: dict[str, _Head] = {}  # by database: the head this process wrote last (maybe rolled back)


def _write(session: Session, rows: list[Row], key: str) -> None:
    bind = session.get_bind()
    if isinstance(bind, Engine):  # a pooled connection's own transaction: 0.25 ms less
        _write_on(bind, rows, key)
        return
    sealer = seal.current()
    with session.begin():  # joined to the caller's connection (a savepoint of its transaction)
        head = _link(session.connection(), sealer, rows, _LAST.get(key))
    _LAST[key] = head  # committed


def _write_on(engine: Engine, rows: list[Row], key: str) -> None:
    sealer = seal.current()
    with engine.begin() as connection:
        head = _link(connection, sealer, rows, _LAST.get(key))
    _LAST[key] = head  # committed


_WRITERS: dict[str, Writer] = {}  # by database: the running writer of this process, if any


class Writer:
    """The process's one writer of the ledger of a database, for a server's event loop: answers
    put their rows in a queue and await their own row's commit, without holding a thread; one
    thread writes whatever queued while the previous group was written, as one group (chained,
    sealed and committed as :func:`append` does it). An error reaches every answer of its group,
    none of which is then recorded. While it runs, :func:`append` from any other thread of the
    process hands its row to it too, so the process's decisions are chained by one writer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.key = str(engine.url)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[tuple[Row, asyncio.Future[Row]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer")

    def start(self) -> None:
        """Start writing, on the running event loop."""
        self.loop = asyncio.get_running_loop()
        self._task = self.loop.create_task(self._run())
        _WRITERS[self.key] = self

    def loop_for_thread(self) -> asyncio.AbstractEventLoop | None:
        """The loop a thread hands it a row on, if it may: it runs, and not on this thread."""
        if self.loop is None or self._closing or not self.loop.is_running():
            return None
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread
            return self.loop
        return None if here is self.loop else self.loop

    async def append(self, row: Row) -> Row:
        """``row`` recorded: returns once the transaction that wrote it is committed."""
        if self.loop is None or self._closing:
            raise RuntimeError("the ledger writer is not running")
        done: asyncio.Future[Row] = self.loop.create_future()
        self._queue.append((row, done))
        self._wake.set()
        return await done

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if _WRITERS.get(self.key) is self:
            del _WRITERS[self.key]
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._thread.shutdown()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                rows = [r for r, _ in group]
                try:
                    await loop.run_in_executor(self._thread, _write_on, self.engine, rows, self.key)
                except Exception as exc:  # handed to every answer of the group
                    for _, done in group:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for row, done in group:
                        if not done.done():  # (an answer whose client left is still recorded)
                            done.set_result(row)
            if self._closing:
                return


def _link(connection: Connection, sealer: Sealer, rows: list[Row], last: _Head | None) -> _Head:
    """Chain the group's rows in order after the head, insert them, seal the new head. On the
    head this process wrote last, if it still is the head: one conditional UPDATE locks, checks
    and moves it; otherwise the head is locked and read first."""
    if last is not None and last.key_id == sealer.key_id:
        head = _chain(sealer, rows, last)
        moved = connection.execute(
            MOVE,
            {**_head_values(sealer, head), "was_length": last.length, "was_hash": last.head_hash},
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            connection.execute(INSERT, [{c: getattr(r, c) for c in COLUMNS} for r in rows])
            return head
    length, prev, at, kid = connection.execute(LOCK).one()
    if kid != sealer.key_id:
        raise SealError(
            f"the decision ledger is sealed with key {kid}, the configured key "
            f"({sealer.path}) is {sealer.key_id}: restore the ledger's key"
        )
    head = _chain(sealer, rows, _Head(length, prev, aware(at) if at else EPOCH, kid))
    connection.execute(INSERT, [{c: getattr(r, c) for c in COLUMNS} for r in rows])
    connection.execute(SET_HEAD, _head_values(sealer, head))
    return head


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _chain(sealer: Sealer, rows: list[Row], head: _Head) -> _Head:
    """Number, hash and seal ``rows`` after ``head``; the head after them."""
    length, prev = head.length, head.head_hash
    for row in rows:
        length += 1
        row.chain_seq, row.prev_hash = length, prev
        row.hash = prev = content_hash(content(row), prev)
        row.seal = sealer.seal(CHAIN, length, prev)
    at = max(dt.datetime.now(dt.UTC), head.recorded_at)  # the head's time never falls
    return _Head(length, prev, at, sealer.key_id)


def _head_values(sealer: Sealer, head: _Head) -> dict[str, Any]:
    return signed_head(sealer, head.length, head.head_hash, head.recorded_at)


def signed_head(
    sealer: Sealer, length: int, head_hash: str, at: dt.datetime | None
) -> dict[str, Any]:
    """The head row's values, signed."""
    fields = head_fields(CHAIN, length, head_hash, at, sealer.key_id)
    return {
        "length": length,
        "head_hash": head_hash,
        "recorded_at": at,
        "key_id": sealer.key_id,
        "signature": sealer.mac(fields),
    }


def get(session: Session, *, decision_id: str) -> Decision | None:
    return session.get(Decision, decision_id)


def differences(recorded: Any, fresh: Any, where: str = "output") -> list[str]:
    """Where ``fresh`` differs from ``recorded`` (paths like ``output.reasons[0].points``)."""
    if isinstance(recorded, dict) and isinstance(fresh, dict):
        out = []
        for key in sorted(set(recorded) | set(fresh)):
            if key not in fresh or key not in recorded:
                out.append(f"{where}.{key}: present in only one")
            else:
                out.extend(differences(recorded[key], fresh[key], f"{where}.{key}"))
        return out
    if isinstance(recorded, list) and isinstance(fresh, list):
        if len(recorded) != len(fresh):
            return [f"{where}: {len(recorded)} items recorded, {len(fresh)} now"]
        return [
            d
            for i, (a, b) in enumerate(zip(recorded, fresh, strict=True))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    if canonical(recorded) != canonical(fresh):
        return [f"{where}: recorded {canonical(recorded)}, now {canonical(fresh)}"]
    return []
