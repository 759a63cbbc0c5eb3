"""The champion model, loaded in ``lifespan`` through the MLflow registry alias. The service
starts without one: it says why in ``/readyz`` and in 503s, and tries again now and then, so a
champion registered later is picked up without a restart."""

from __future__ import annotations

import threading
import time

from features.catalogue import CATALOGUE_VERSION
from models.champion import resolve
from models.policy import load_policy
from models.recourse import load_actions
from models.tracking import load
from service.engine.decisions import Scorer
from service.store.settings import MlflowSettings


class Champion:
    def __init__(self, mlflow: MlflowSettings, retry_seconds: float) -> None:
        self.mlflow = mlflow
        self.retry_seconds = retry_seconds
        self.scorer: Scorer | None = None
        self.why_not = "not loaded yet"
        self._tried_at = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def of(cls, scorer: Scorer) -> Champion:
        """A holder around an already loaded scorer."""
        held = cls(MlflowSettings(), retry_seconds=float("inf"))
        held.scorer, held.why_not = scorer, ""
        return held

    @property
    def version(self) -> str | None:
        return None if self.scorer is None else self.scorer.loaded.version

    def try_load(self) -> Scorer | None:
        m = self.mlflow
        with self._lock:
            self._tried_at = time.monotonic()
            try:
                ref = resolve(m.tracking_uri, m.model_name, m.alias)
                if ref.version is None:
                    self.why_not = f"{ref.why_not}: run `safecredit train` first"
                    return None
                loaded = load(m.tracking_uri, m.model_name, m.alias)
            except Exception as exc:  # the registry is unreachable or the artifact unreadable
                self.why_not = f"model registry unavailable: {exc.__class__.__name__}: {exc}"
                return None
            self.scorer = Scorer(loaded, load_policy(), load_actions(), CATALOGUE_VERSION)
            self.why_not = ""
            return self.scorer

    def get(self) -> Scorer | None:
        """The scorer, trying to load it again when none is held and the retry interval passed."""
        if self.scorer is None and time.monotonic() - self._tried_at >= self.retry_seconds:
            return self.try_load()
        return self.scorer
