"""A database that fails in any of the ways a network can fail never hangs a request: behind a
fault-injecting TCP proxy on 127.0.0.1 (refuse, black-hole, slow, reset) every endpoint that
needs the database answers 503 within 5 s, ``/readyz`` answers within 2 s with "not ready", and
once the proxy passes traffic again the service answers 200 by itself. And a database that
cannot be written is not ready, and ``/readyz`` says why."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.engine.decisions import Scorer
from service.engine.keys import create_key
from service.http.app import create_app, service_engine
from service.store.db import unhurried
from service.store.settings import ServiceSettings
from tests.service.conftest import AS_OF, Province, settings_for

Response = Any  # what the test client answers
Mode = Literal["pass", "refuse", "blackhole", "slow", "reset"]
ANSWER_WITHIN = 5.0  # seconds: a 503, not a hang
READY_WITHIN = 2.0
SLOW_CHUNK = 2.5  # seconds each chunk is held in "slow" mode: longer than any reply timeout


class FaultProxy:
    """A TCP proxy from 127.0.0.1 to a loopback server, with a mode switched at will; a switch
    applies to the links already open too:

    - ``pass``: forwards both ways (links opened under a fault are dropped on the way back);
    - ``refuse``: the port is closed (connections refused), open links are reset;
    - ``blackhole``: accepts, reads and forwards nothing, answers nothing;
    - ``slow``: holds each chunk ``SLOW_CHUNK`` seconds before passing it on;
    - ``reset``: open links and new connections are reset (TCP RST).

    Every thread is a daemon and the proxy shuts itself after ``lifetime`` seconds."""

    def __init__(self, target: tuple[str, int], *, lifetime: float = 300.0) -> None:
        if not ipaddress.ip_address(socket.gethostbyname(target[0])).is_loopback:
            raise ValueError(f"the proxy forwards to loopback addresses only, not {target[0]}")
        self.target = target
        self.mode: Mode = "pass"
        self.lock = threading.Lock()
        self.links: list[tuple[socket.socket, socket.socket | None, Mode]] = []
        self.listener: socket.socket | None = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        self._serve(self.listener)
        self.timer = threading.Timer(lifetime, self.close)
        self.timer.daemon = True
        self.timer.start()

    def switch(self, mode: Mode) -> None:
        with self.lock:
            before, self.mode = self.mode, mode
            if mode in ("refuse", "reset") or (mode == "pass" and before != "pass"):
                for client, server, _ in self.links:
                    for s in (client, server):
                        _reset(s)
                self.links.clear()
            if mode == "refuse" and self.listener is not None:
                self.listener.close()
                self.listener = None
            elif mode != "refuse" and self.listener is None and not self.closed:
                self.listener = socket.create_server(("127.0.0.1", self.port))
                self._serve(self.listener)

    def close(self) -> None:
        self.closed = True
        self.switch("reset")
        with self.lock:
            if self.listener is not None:
                self.listener.close()
                self.listener = None
        self.timer.cancel()

    def _serve(self, listener: socket.socket) -> None:
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            with self.lock:
                mode = self.mode
            if mode == "reset":
                _reset(client)
                continue
            server = (
                socket.create_connection(self.target, timeout=5) if mode != "blackhole" else None
            )
            if server is not None:
                server.settimeout(None)
            with self.lock:
                self.links.append((client, server, mode))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()
            if server is not None:
                threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket | None) -> None:
        try:
            while data := source.recv(65536):
                mode = self.mode
                if mode == "slow":
                    time.sleep(SLOW_CHUNK)
                    mode = self.mode
                if mode in ("pass", "slow") and sink is not None:
                    sink.sendall(data)
                # blackhole: read and dropped
        except OSError:
            pass
        finally:
            for s in (source, sink):
                if s is not None:
                    with contextlib.suppress(OSError):
                        s.close()


def _reset(s: socket.socket | None) -> None:
    """Close with a TCP RST rather than a FIN."""
    if s is None:
        return
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.shutdown(socket.SHUT_RD)  # wakes the pipe's recv, which lets go of the socket
    with contextlib.suppress(OSError):
        s.close()


@pytest.fixture
def gate(provinces) -> Iterator[tuple[FaultProxy, Province]]:  # type: ignore[no-untyped-def]
    province: Province = provinces("postgresql")
    url = province.engine.url
    proxy = FaultProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy, province
    proxy.close()


def _token(province: Province) -> str:
    with Session(province.engine) as session, session.begin():
        _, token = create_key(session, role="regulator", name="faults test")
    return token


def _endpoints(client: TestClient, province: Province) -> dict[str, Callable[[], Response]]:
    h = {"Authorization": f"Bearer {_token(province)}"}
    check = {"usccs": [province.listed], "domain": "bidding", "as_of": str(AS_OF)}
    return {
        "score": lambda: client.get(
            f"/v1/enterprises/{province.listed}/score", params={"as_of": str(AS_OF)}, headers=h
        ),
        "check": lambda: client.post("/v1/registry/checks", json=check, headers=h),
        "entries": lambda: client.get("/v1/registry/entries", headers=h),
    }


def _timed(call: Callable[[], Response]) -> tuple[Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("mode", ["refuse", "blackhole", "slow", "reset"])
def test_a_failing_database_gives_503s_within_5_s_and_the_service_recovers_by_itself(
    mode: Mode, gate: tuple[FaultProxy, Province], scorer: Scorer, tmp_path: Path
) -> None:
    proxy, province = gate
    url = province.engine.url.set(host="127.0.0.1", port=proxy.port)
    engine = service_engine(url.render_as_string(hide_password=False), ServiceSettings())
    app = create_app(settings_for(tmp_path), engine=engine, scorer=scorer)
    try:
        with TestClient(app) as client:
            endpoints = _endpoints(client, province)
            for name, call in endpoints.items():
                assert call().status_code == 200, name
            assert client.get("/readyz").json()["database"] == "ok"

            proxy.switch(mode)
            for name, call in endpoints.items():
                down, took = _timed(call)
                assert down.status_code == 503, (name, down.text)
                assert down.json()["error"] == "database_unavailable"
                assert took < ANSWER_WITHIN, (name, took)
            ready, took = _timed(lambda: client.get("/readyz"))
            assert ready.status_code == 503 and not ready.json()["ready"]
            assert ready.json()["database"].startswith("unavailable")
            assert took < READY_WITHIN

            proxy.switch("pass")
            for name, call in endpoints.items():
                back = call()
                assert back.status_code == 200, (name, back.text)
            assert _eventually_ready(client)
    finally:
        engine.dispose()


def _eventually_ready(client: TestClient, within: float = 15.0) -> bool:
    """Ready again once a probe left waiting on the fault has ended (its own timeouts)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if client.get("/readyz").json()["database"] == "ok":
            return True
        time.sleep(0.2)
    return False


def test_a_connection_broken_mid_transaction_is_dropped_not_reused(
    gate: tuple[FaultProxy, Province],
) -> None:
    """A connection that stops answering after it was checked out (past the pool's ping) fails
    within the reply timeout and is invalidated; the next checkout gets a fresh one."""
    proxy, province = gate
    url = province.engine.url.set(host="127.0.0.1", port=proxy.port)
    limits = ServiceSettings()
    engine = service_engine(url.render_as_string(hide_password=False), limits)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            proxy.switch("blackhole")
            started = time.monotonic()
            with pytest.raises(OperationalError, match="no answer from the database"):
                conn.execute(text("SELECT 2"))
            assert time.monotonic() - started < limits.reply_timeout_seconds + 1.0
            assert conn.invalidated
        proxy.switch("pass")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 3")).scalar() == 3
    finally:
        engine.dispose()


def test_server_connections_carry_the_statement_timeout_and_tcp_settings(
    provinces,  # type: ignore[no-untyped-def]
) -> None:
    limits = ServiceSettings(statement_timeout_seconds=1.5, tcp_user_timeout_seconds=4)
    url = provinces("postgresql").engine.url.render_as_string(hide_password=False)
    engine = service_engine(url, limits)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
            # the URL's own options are kept (the test schema's search_path)
            assert "safecredit_api_" in str(conn.execute(text("SHOW search_path")).scalar())
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
            assert params["keepalives"] == "1" and params["tcp_user_timeout"] == "4000"
            started = time.monotonic()
            with pytest.raises(OperationalError, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(10)"))
            assert time.monotonic() - started < 5
    finally:
        engine.dispose()


def test_a_book_build_runs_unhurried_past_the_answers_timeouts(
    provinces: Callable[[str], Province],
) -> None:
    """A score book reads a whole province in the background: the answers' statement and reply
    timeouts are lifted for its transaction only."""
    limits = ServiceSettings(statement_timeout_seconds=0.2, reply_timeout_seconds=2.0)
    url = provinces("postgresql").engine.url.render_as_string(hide_password=False)
    engine = service_engine(url, limits)
    try:
        with Session(engine) as session, session.begin(), unhurried(session):
            assert session.execute(text("SELECT pg_sleep(0.5), 1")).one()[1] == 1
        with (
            Session(engine) as session,
            session.begin(),
            pytest.raises(OperationalError, match="statement timeout"),
        ):
            session.execute(text("SELECT pg_sleep(0.5)"))
    finally:
        engine.dispose()


def test_readyz_is_not_ready_on_a_read_only_sqlite_file_and_says_why(
    tmp_path: Path, scorer: Scorer
) -> None:
    file = tmp_path / "store.db"
    sqlite3.connect(file).execute("CREATE TABLE t (x INTEGER)").connection.close()
    engine = service_engine(f"sqlite:///file:{file}?mode=ro&uri=true", ServiceSettings())
    app = create_app(settings_for(tmp_path), engine=engine, scorer=scorer)
    try:
        with TestClient(app) as client:
            ready, took = _timed(lambda: client.get("/readyz"))
    finally:
        engine.dispose()
    assert ready.status_code == 503 and not ready.json()["ready"]
    assert ready.json()["database"] == "read-only: attempt to write a readonly database"
    assert took < READY_WITHIN


def test_readyz_is_ready_on_a_writable_sqlite_file_and_the_probe_leaves_nothing(
    tmp_path: Path, scorer: Scorer
) -> None:
    file = tmp_path / "store.db"
    engine = service_engine(f"sqlite:///{file}", ServiceSettings())
    app = create_app(settings_for(tmp_path), engine=engine, scorer=scorer)
    try:
        with TestClient(app) as client:
            ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok"
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT name FROM sqlite_master")).scalars().all()
        assert tables == []
    finally:
        engine.dispose()
