"""Operations endpoints: the service starts without a champion model and says so."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.http.app import create_app
from service.store.settings import Settings


def test_not_ready_without_a_champion_model_and_says_why(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
            "mlflow": {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"},
        }
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "ok"
    assert "no model registered as safecredit-risk@champion" in ready.json()["model"]
