"""Operations: the champion is loaded from the MLflow registry in ``lifespan``; without one the
service still starts and answers 503 with the reason; a database outage gives 503s quickly, not
hangs, and the service recovers by itself when the database is back."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import mlflow
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from models.tracking import RiskPyfunc, use
from models.training import Trained
from service.engine.keys import create_key
from service.http.api.deps import ServiceSettings
from service.http.app import create_app, service_engine
from service.store.settings import Settings
from tests.service.conftest import AS_OF, Province


def _settings(tmp: Path, database: str) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": database},
            "mlflow": {"tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}"},
        }
    )


def _token(province: Province, role: str = "regulator") -> str:
    with Session(province.engine) as session, session.begin():
        _, token = create_key(session, role=role, name="operations test")
    return token


@pytest.fixture
def sqlite_province(provinces) -> Province:  # type: ignore[no-untyped-def]
    return provinces("sqlite")


def test_without_a_champion_the_service_starts_and_says_why(
    sqlite_province: Province, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, str(sqlite_province.engine.url))
    token = _token(sqlite_province)
    with TestClient(create_app(settings)) as client:
        h = {"Authorization": f"Bearer {token}"}
        r = client.get(f"/v1/enterprises/{sqlite_province.listed}/score", headers=h)
        assert r.status_code == 503 and r.json()["error"] == "not_ready"
        assert "no model registered as safecredit-risk@champion" in r.json()["detail"]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "ok"
        # what needs no model still works
        check = {"usccs": [sqlite_province.listed], "domain": "bidding", "as_of": str(AS_OF)}
        assert client.post("/v1/registry/checks", json=check, headers=h).status_code == 200


def test_the_champion_is_loaded_from_the_registry_by_alias(
    sqlite_province: Province, trained: Trained, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, str(sqlite_province.engine.url))
    m = settings.mlflow
    use(m.tracking_uri, tmp_path / "artifacts", m.experiment)
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=RiskPyfunc(trained.model), registered_model_name=m.model_name
        )
    client = MlflowClient(tracking_uri=m.tracking_uri, registry_uri=m.tracking_uri)
    client.set_registered_model_alias(m.model_name, m.alias, info.registered_model_version)
    token = _token(sqlite_province, "insurer")
    with TestClient(create_app(settings)) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["model"] == f"{m.model_name}/{info.registered_model_version}"
        r = http.get(
            f"/v1/enterprises/{sqlite_province.unlisted}/score",
            params={"as_of": str(AS_OF)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == str(info.registered_model_version)


class Proxy:
    """A TCP proxy to the PostgreSQL server that can be cut and restored: an outage on demand."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.links: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.up = False
        for s in self.links:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self.links.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy(provinces) -> Iterator[tuple[Proxy, Province]]:  # type: ignore[no-untyped-def]
    province = provinces("postgresql")
    url = province.engine.url
    p = Proxy((url.host or "127.0.0.1", url.port or 5432))
    yield p, province
    p.close()


def test_a_database_outage_gives_503s_quickly_and_recovers(
    proxy: tuple[Proxy, Province], tmp_path: Path
) -> None:
    gate, province = proxy
    url = province.engine.url.set(host="127.0.0.1", port=gate.port)
    settings = _settings(tmp_path, url.render_as_string(hide_password=False))
    limits = ServiceSettings(pool_timeout_seconds=1, connect_timeout_seconds=1)
    token = _token(province, "approval_office")
    h = {"Authorization": f"Bearer {token}"}
    check = {"usccs": [province.listed], "domain": "bidding", "as_of": str(AS_OF)}
    with TestClient(create_app(settings, limits=limits)) as client:
        assert client.post("/v1/registry/checks", json=check, headers=h).status_code == 200
        gate.cut()
        started = time.monotonic()
        down = client.post("/v1/registry/checks", json=check, headers=h)
        assert down.status_code == 503 and down.json()["error"] == "database_unavailable"
        assert client.get("/readyz").status_code == 503
        assert time.monotonic() - started < 10  # an answer, not a hang
        gate.restore()
        back = client.post("/v1/registry/checks", json=check, headers=h)
        assert back.status_code == 200, back.text
        assert back.json()["results"][0]["restricted"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_connections_stay_open_for_as_many_requests_as_run_at_once(
    backend: str,
    provinces,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """Under load no request opens a connection of its own: the pool keeps one for each of
    the threadpool's threads (closing and reopening them per request cost a quarter of the
    throughput on SQLite, and a server's connection costs more)."""
    assert ServiceSettings().pool_size >= anyio.run(_threadpool_size)
    url = provinces(backend).engine.url.render_as_string(hide_password=False)
    engine = service_engine(url, ServiceSettings())
    opened = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    together = threading.Barrier(16)

    def request() -> None:
        with engine.connect() as conn:
            together.wait(timeout=30)  # all 16 hold a connection at once
            conn.execute(text("SELECT 1"))

    try:
        for expected in (16, 0):  # then the same 16 again, reused
            opened.clear()
            threads = [threading.Thread(target=request) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert not together.broken and len(opened) == expected
    finally:
        engine.dispose()


async def _threadpool_size() -> int:
    return int(anyio.to_thread.current_default_thread_limiter().total_tokens)
