"""`make demo`'s job, on a small province: every step runs and a second run reuses the first."""

from __future__ import annotations

from pathlib import Path

from service.store.db import migrated_engine
from service.store.settings import Settings


def test_the_demo_runs_end_to_end_and_again(tmp_path: Path) -> None:
    from experiments import demo

    settings = Settings.model_validate(
        {
            "var_dir": tmp_path,
            "database": {"url": f"sqlite:///{tmp_path / 'safecredit.db'}"},
            "mlflow": {
                "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                "artifact_root": tmp_path / "mlartifacts",
            },
        }
    )
    engine = migrated_engine(settings.database.url)
    said: list[str] = []
    first = demo.run(engine, settings, enterprises=800, years=5, seed=3, say=said.append)
    assert first["grade"].isin(list("ABCD")).all() and len(first) == 800
    assert any(line.startswith("model: version 1 registered as champion") for line in said)
    assert (first["overrides"].str.contains("listed")).any()  # listings walked to publication
    said.clear()
    second = demo.run(engine, settings, enterprises=800, years=5, seed=3, say=said.append)
    assert any("reusing" in line for line in said)
    assert any("is the champion" in line for line in said)
    assert any(line.startswith("registry: 0 new proposals") for line in said)
    assert second[["uscc", "score", "grade"]].equals(first[["uscc", "score", "grade"]])
