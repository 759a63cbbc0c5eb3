"""No answer without its decision: a server killed (SIGKILL) while answering checks from several
connections leaves, for every answer a client received, its row in the decision ledger, and a
ledger whose chain verifies. The server runs as its own process, as in production."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.engine.keys import create_key
from service.engine.ledger_chain import verify
from service.store.db import migrated_engine
from service.store.tables import Decision

CLIENTS = 8
ANSWERS_BEFORE_KILL = 60
BODY = json.dumps({"usccs": ["91350200MA31E12PXF"], "domain": "bidding"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read() if server.stderr else b""
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_an_answer_received_has_its_decision_recorded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    engine = migrated_engine(url)
    with Session(engine) as session, session.begin():
        _, token = create_key(session, role="regulator", name="durable")
    port = _free_port()
    env = {
        **os.environ,
        "SAFECREDIT_DATABASE_URL": url,
        "SAFECREDIT_MLFLOW__TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "SAFECREDIT_SERVICE__BOOK_DAYS": "[]",
    }
    run = (
        "import uvicorn; uvicorn.run('service.http.app:create_app', factory=True, "
        f"host='127.0.0.1', port={port}, log_level='warning')"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", run], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    received: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while not stop.is_set():
            try:
                connection.request("POST", "/v1/registry/checks", BODY, headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            assert response.status == 200, body
            with lock:
                received.append(json.loads(body)["decision_id"])

    try:
        _up(port, server)
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(received) < ANSWERS_BEFORE_KILL and time.monotonic() < deadline:
            assert server.poll() is None
            time.sleep(0.005)
        server.send_signal(signal.SIGKILL)  # answers in flight, decisions being written
        server.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        if server.stderr:
            server.stderr.close()
    assert len(received) >= ANSWERS_BEFORE_KILL
    with Session(engine) as session:
        recorded = set(session.scalars(select(Decision.decision_id)))
        report = verify(session)
    engine.dispose()
    assert set(received) <= recorded
    assert report.ok, report.problems
