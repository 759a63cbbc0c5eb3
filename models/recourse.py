"""Recourse actions as versioned data: what an enterprise can do, and which features it moves."""

from __future__ import annotations

import builtins
import hashlib
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, plural
from models.policy import POLICY_DIR, PolicyFileError

DEFAULT = POLICY_DIR / "recourse-2026.2.toml"


PLURALS = ("s", "ies")


@dataclass(frozen=True)
class Action:
    id: str
    when: tuple[str, ...]
    zh: str
    en: str
    above: float = 0.0
    set: dict[str, float] = field(default_factory=dict)
    subtract: dict[str, str] = field(default_factory=dict)
    add: dict[str, float] = field(default_factory=dict)

    @property
    def placeholders(self) -> list[str]:
        """The features the sentences name, in order."""
        names = [f for _, f, _, _ in string.Formatter().parse(self.zh + self.en) if f]
        return [f for f in dict.fromkeys(names) if f not in PLURALS]

    @property
    def touches(self) -> builtins.set[str]:
        return set(self.set) | set(self.subtract) | set(self.add)

    def applies(self, X: pd.DataFrame) -> np.ndarray:
        present = [f for f in self.when if f in X.columns]
        if not present:
            return np.zeros(len(X), dtype=bool)
        return (X[present].fillna(0).to_numpy(dtype=float) > self.above).any(axis=1)

    def apply(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as it would be after the action (features the model lacks are skipped)."""
        out = X.copy(deep=False)  # copy-on-write: the caller's frame is never changed
        for name, source in self.subtract.items():
            if name in out and source in out:
                out[name] = np.maximum(out[name] - out[source].fillna(0), 0)
        for name, value in self.set.items():
            if name in out:
                out[name] = out[name].where(out[name].isna(), value)
        for name, step in self.add.items():
            if name in out:
                out[name] = (out[name] + step).clip(lower=1.0)  # grades and counts start at 1
        return out

    def text(self, values: pd.Series, lang: str) -> str:
        """The sentence with the enterprise's values (missing counts as 0)."""
        template = self.zh if lang == "zh" else self.en
        counts = {f: 0.0 if pd.isna(values.get(f)) else float(values[f]) for f in self.placeholders}
        first = next(iter(counts.values()), 2.0)  # the count the sentence names sets its plural
        return template.format(**counts, **plural(first))


@dataclass(frozen=True)
class Actions:
    version: str
    sha256: str
    actions: tuple[Action, ...]
    messages: dict[str, str] = field(default_factory=dict)  # no_grade_change_*, clean_record_*


def load_actions(path: Path = DEFAULT) -> Actions:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode())
        actions = tuple(Action(**{**a, "when": tuple(a["when"])}) for a in data["action"])
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise PolicyFileError(f"{path}: {exc}") from None
    for action in actions:
        unknown = (action.touches | set(action.when)) - set(CATALOGUE)
        if unknown:
            raise PolicyFileError(f"{path}: action {action.id}: unknown features {sorted(unknown)}")
        fixed = {f for f in action.touches if not CATALOGUE[f].actionable}
        if fixed:
            raise PolicyFileError(
                f"{path}: action {action.id}: not actionable in the catalogue: {sorted(fixed)}"
            )
    messages = data.get("messages", {})
    missing = {"no_grade_change_zh", "no_grade_change_en"} - set(messages)
    if missing:
        raise PolicyFileError(f"{path}: [messages] lacks {sorted(missing)}")
    return Actions(str(data["version"]), hashlib.sha256(raw).hexdigest(), actions, messages)
