"""Change notifications: fan-out of one listing to 10,000 watchlists holding 100,000 watched
codes, and events dispatched to a webhook per second against a bare HTTP POST loop to the same
receiver, measured side by side in one run (SQLite, and PostgreSQL when it answers).

Ten thousand insurer keys each keep a watchlist of ten codes (the listed code and nine others)
and a webhook; one ``registry.published`` event about the listed code is fanned out (ten thousand
deliveries, each subscription's key checked for what it may hear) and then dispatched by the
worker — claim, signed POST, the answer recorded per delivery — to a receiver in a process of
its own, while the bare loop POSTs the same bodies to it over a new connection each (as the
worker does: it connects to the address it checked). ``bench()`` returns the figures.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from features.uscc import with_check
from registry import seal
from service.engine.notify.dispatch import fan_out
from service.engine.notify.worker import Worker
from service.store.db import make_engine, upgrade
from service.store.notify_tables import Delivery, Subscription, WatchedCode, Watchlist
from service.store.outbox import PUBLIC, record
from service.store.settings import NotifySettings
from service.store.tables import ApiKey

PG_URL = os.environ.get(
    "SAFECREDIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_SCHEMA = f"safecredit_bench_notify_{os.getpid()}"
RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def _seed(engine: Engine, *, lists: int, per_list: int, url: str) -> str:
    """Keys, watchlists, codes and webhooks; the code every watchlist holds."""
    listed = with_check("91140100900000000")
    now = dt.datetime.now(dt.UTC)
    keys, watchlists, codes, subs = [], [], [], []
    for i in range(lists):
        key_id = f"b{i:015d}"
        keys.append(
            {
                "key_id": key_id,
                "secret_sha256": uuid.uuid4().hex * 2,
                "role": "insurer",
                "uscc": None,
                "department": None,
                "name": f"insurer {i}",
                "created_at": now,
            }
        )
        wid = uuid.uuid4().hex
        watchlists.append(
            {"watchlist_id": wid, "key_id": key_id, "name": "book", "created_at": now}
        )
        codes.append({"watchlist_id": wid, "uscc": listed})
        codes += [
            {"watchlist_id": wid, "uscc": with_check(f"9114010091{i:05d}{j:02d}")}
            for j in range(1, per_list)
        ]
        subs.append(
            {
                "subscription_id": uuid.uuid4().hex,
                "key_id": key_id,
                "url": url,
                "secret": "s" * 32,
                "created_at": now,
                "after_event": 0,
            }
        )
    with Session(engine) as session, session.begin():
        for table, rows in (
            (ApiKey, keys),
            (Watchlist, watchlists),
            (WatchedCode, codes),
            (Subscription, subs),
        ):
            for start in range(0, len(rows), 10_000):
                session.execute(insert(table), rows[start : start + 10_000])
    return listed


def _bare(port: int, body: bytes, n: int) -> float:  # one at a time
    """POSTs per second, one connection each, as plain as it gets."""
    t0 = time.perf_counter()
    for _ in range(n):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/hook", body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        connection.close()
        assert answer.status == 204
    return n / (time.perf_counter() - t0)


def _dispatched(engine: Engine, n: int, concurrency: int) -> float:
    """Deliveries per second by one worker until ``n`` are delivered."""
    settings = NotifySettings(batch=200, concurrency=concurrency)
    worker = Worker(sessionmaker(engine), settings, name="bench")
    t0 = time.perf_counter()
    while worker.done.delivered < n:
        if worker.round() == 0:
            break
    assert worker.done.failed == 0
    return worker.done.delivered / (time.perf_counter() - t0)


def measure(engine: Engine, port: int, *, lists: int, per_list: int, sent: int) -> dict[str, Any]:
    upgrade(engine)
    listed = _seed(engine, lists=lists, per_list=per_list, url=f"http://127.0.0.1:{port}/hook")
    with Session(engine) as session, session.begin():
        watched = session.scalar(select(func.count()).select_from(WatchedCode))
        record(
            session.connection(),
            type="registry.published",
            uscc=listed,
            effective_on=dt.date(2026, 2, 5),
            payload={"entry_id": "bench", "action": "publish"},
            audience=PUBLIC,
        )
    t0 = time.perf_counter()
    with Session(engine) as session, session.begin():
        made = fan_out(session)
    fanned = time.perf_counter() - t0
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Delivery))
        assert count == made == lists, (count, made, lists)
    body = b'{"id":1,"type":"registry.published","uscc":"%s","payload":{}}' % listed.encode()
    bare, serial, worker = [], [], []
    for _ in range(2):  # alternating, the best of each
        bare.append(_bare(port, body, sent))
        serial.append(_dispatched(engine, sent, 1))
        worker.append(_dispatched(engine, sent, NotifySettings().concurrency))
    return {
        "watchlists": lists,
        "watched codes": watched,
        "deliveries": made,
        "fan-out seconds": fanned,
        "bare POSTs/s": max(bare),
        "dispatched/s, one at a time": max(serial),
        "dispatched/s": max(worker),
        "concurrency": NotifySettings().concurrency,
    }


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


def bench(
    *, lists: int = 10_000, per_list: int = 10, sent: int = 1_000, postgres: bool = True
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp, seal.using(seal.load(Path(tmp) / "signing.key")):
            backends: list[tuple[str, Callable[[], Engine | None]]] = [
                ("SQLite", lambda: make_engine(f"sqlite:///{Path(tmp) / 'notify.db'}")),
            ]
            if postgres:
                backends.append(("PostgreSQL", _postgres))
            for name, make in backends:
                engine = make()
                if engine is None:
                    out[name] = {"left out": f"PostgreSQL at {PG_URL} does not answer"}
                    continue
                try:
                    out[name] = measure(engine, port, lists=lists, per_list=per_list, sent=sent)
                finally:
                    engine.dispose()
                    if name == "PostgreSQL":
                        admin = make_engine(PG_URL)
                        with admin.begin() as conn:
                            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
                        admin.dispose()
    finally:
        receiver.terminate()
        receiver.wait(10)
    return out


def run() -> list[tuple[str, str]]:
    """``make bench`` rows."""
    rows = []
    for backend, f in bench().items():
        if "left out" in f:
            rows.append((f"notify: {backend}", f"left out: {f['left out']}"))
            continue
        rows.append(
            (
                f"notify fan-out, {backend}: one listing, {f['watchlists']:,} watchlists, "
                f"{f['watched codes']:,} codes",
                f"{f['deliveries']:,} deliveries in {f['fan-out seconds']:.2f} s",
            )
        )
        bare = f["bare POSTs/s"]
        for label, rate in (
            ("one POST at a time", f["dispatched/s, one at a time"]),
            (f"{f['concurrency']} in flight", f["dispatched/s"]),
        ):
            rows.append(
                (
                    f"notify dispatch, {backend}: worker ({label}) vs bare POST loop",
                    f"{rate:,.0f}/s vs {bare:,.0f}/s: {bare / rate:.2f}× the time",
                )
            )
    return rows


if __name__ == "__main__":
    for key, value in run():
        print(f"{key}: {value}")
