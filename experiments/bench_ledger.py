"""The decision ledger's append with its chain (head row locked, rows hashed and sealed, head
signed once per group) against the append it replaced (the group's INSERT alone), side by side
in one run on a scratch SQLite file and, when it answers, PostgreSQL.

The old append is kept here only, for the comparison: the same group commit writing the same
decisions to a copy of the table as it was before revision 0005.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, insert, text
from sqlalchemy.orm import Session

from registry import seal
from service.engine import ledger
from service.store.db import make_engine, upgrade

PG_URL = os.environ.get(
    "SAFECREDIT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_SCHEMA = f"safecredit_bench_ledger_{os.getpid()}"
UNCHAINED = ("chain_seq", "prev_hash", "hash", "seal")
OLD = Table(
    "decisions_before_0005",
    MetaData(),
    *(
        Column(c.name, c.type, primary_key=c.primary_key)
        for c in ledger.TABLE.columns
        if c.name not in UNCHAINED
    ),
)
OLD_COLUMNS = tuple(c.name for c in OLD.columns)
OLD_INSERT = insert(OLD)


def _old_write(session: Session, rows: list[ledger.Row], key: str = "") -> None:
    """The append's write before the chain: one INSERT of the group."""
    values = [{c: getattr(r, c) for c in OLD_COLUMNS} for r in rows]
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    with bind.begin() as connection:
        connection.execute(OLD_INSERT, values)


@contextlib.contextmanager
def _old_append() -> Iterator[None]:
    chained = ledger._write
    ledger._write = _old_write  # type: ignore[assignment]
    try:
        yield
    finally:
        ledger._write = chained  # type: ignore[assignment]


def _decision(i: int) -> ledger.Row:
    return ledger.decision(
        kind="score",
        inputs={"uscc": f"{i:018d}", "as_of": "2026-03-31"},
        versions={"model": "safecredit-risk/7", "policy": "scoring@2026.1", "registry_chain": "0"},
        output={
            "score": 612 + i % 50,
            "grade": "B",
            "probability": 0.0123,
            "reasons": [{"feature": f"f{k}", "points": -k} for k in range(4)],
            "listings": [],
        },
        reasons=[{"feature": f"f{k}", "points": -k} for k in range(4)],
        subject=f"{i:018d}",
    )


def _timed(engine: Engine, threads: int, each: int) -> float:
    """Appends per second: ``threads`` answering at once, ``each`` decisions apiece."""
    start = threading.Barrier(threads + 1)

    def answer(t: int) -> None:
        start.wait()
        with Session(engine) as session:
            for j in range(each):
                ledger.append(session, _decision(t * each + j))

    workers = [threading.Thread(target=answer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    return threads * each / (time.perf_counter() - t0)


def compare(engine: Engine, *, threads: int, each: int, rounds: int = 3) -> dict[str, float]:
    """Best appends/s of each path over ``rounds`` alternating runs, and their ratio."""
    OLD.create(engine, checkfirst=True)
    best: dict[str, float] = {"chained": 0.0, "unchained": 0.0}
    for _ in range(rounds):
        best["chained"] = max(best["chained"], _timed(engine, threads, each))
        with _old_append():
            best["unchained"] = max(best["unchained"], _timed(engine, threads, each))
    return {**best, "ratio": best["unchained"] / best["chained"]}


def _postgres() -> Engine | None:
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}"))
    except Exception:
        return None
    finally:
        admin.dispose()
    return make_engine(PG_URL, connect_args={"options": f"-csearch_path={PG_SCHEMA}"})


def _drop_postgres() -> None:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


def bench(
    *, settings: tuple[tuple[int, int], ...] = ((1, 300), (16, 40)), postgres: bool = True
) -> dict[str, dict[str, Any]]:
    """Figures by backend and setting ("1×300": one thread appending 300 decisions)."""
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, seal.using(seal.load(Path(tmp) / "signing.key")):
        backends: list[tuple[str, Callable[[], Engine | None]]] = [
            ("SQLite", lambda: make_engine(f"sqlite:///{Path(tmp) / 'ledger.db'}")),
        ]
        if postgres:
            backends.append(("PostgreSQL", _postgres))
        for name, make in backends:
            engine = make()
            if engine is None:
                out[name] = {"left out": f"{PG_URL} does not answer"}
                continue
            try:
                upgrade(engine)
                for threads, each in settings:
                    key = f"{threads}×{each}"
                    out.setdefault(name, {})[key] = compare(engine, threads=threads, each=each)
            finally:
                engine.dispose()
                if name == "PostgreSQL":
                    _drop_postgres()
    return out


def run() -> list[tuple[str, str]]:
    """``make bench`` rows."""
    rows = []
    for backend, figures in bench().items():
        for setting, f in figures.items():
            if setting == "left out":
                rows.append((f"ledger: {backend}", f"left out: {f}"))
                continue
            rows.append(
                (
                    f"ledger append, {backend}, threads×appends {setting}",
                    f"{f['chained']:,.0f}/s chained, {f['unchained']:,.0f}/s unchained: "
                    f"{f['ratio']:.2f}× the time",
                )
            )
    return rows


if __name__ == "__main__":
    for key, value in run():
        print(f"{key}: {value}")
