"""Bulk-load speed: `safecredit ingest` against a naive ORM ``add_all`` of the same rows, both
into PostgreSQL (each into a fresh schema), side by side in one run."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from experiments.simulate import simulate, write_world
from features.contracts import TABLES
from features.ingest import ingest
from features.tables import HISTORY_TABLES, Load
from service.store.db import upgrade

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _fresh(schema: str, url: str) -> Engine:
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    return engine


def run(enterprises: int = 20_000, years: int = 5, url: str = PG_URL) -> list[tuple[str, str]]:
    world = simulate(enterprises, years, seed=11)
    rows = sum(len(f) for f in world.tables.values())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_world(world, folder, "csv")
        engine = _fresh("bench_ingest", url)
        start = time.perf_counter()
        with Session(engine) as session, session.begin():
            report = ingest(session, folder, known_on=dt.date.today())
        ours = time.perf_counter() - start
        engine.dispose()

    naive_engine = _fresh("bench_ingest_naive", url)
    start = time.perf_counter()
    with Session(naive_engine) as session, session.begin():
        load = Load(
            loaded_at=dt.datetime.now(dt.UTC),
            known_on=dt.date.today(),
            source="bench",
            files={},
            counts={},
        )
        session.add(load)
        session.flush()
        for name, frame in world.tables.items():
            table, orm = TABLES[name], HISTORY_TABLES[name]
            records = frame[list(table.names)].astype(object).where(frame.notna(), None)
            session.add_all(
                orm(**rec, known_from=dt.date.today(), content_hash="-", load_id=load.load_id)
                for rec in records.to_dict("records")
            )
    naive = time.perf_counter() - start
    naive_engine.dispose()
    assert report.written == rows
    return [
        ("ingest: rows", f"{rows:,}"),
        ("ingest: safecredit ingest (read+validate+COPY) rows/s", f"{rows / ours:,.0f}"),
        ("ingest: naive ORM add_all (write only) rows/s", f"{rows / naive:,.0f}"),
        ("ingest: ratio ingest / naive", f"{naive / ours:.1f}x"),
    ]
