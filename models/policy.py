"""Scoring policy as versioned data: scale (base score, base odds, PDO, range), grade cut-offs,
overrides and the number of reasons. One TOML file per version, validated on load; its version
and sha256 go on every decision."""

from __future__ import annotations

import hashlib
import math
import tomllib
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

P = TypeVar("P", bound=BaseModel)
POLICY_DIR = Path(__file__).with_name("policies")
DEFAULT = POLICY_DIR / "score-2026.2.toml"
Grade = Literal["A", "B", "C", "D"]


class PolicyFileError(ValueError):
    """A policy file is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Strict):
    min_score: int
    max_score: int
    base_score: float
    base_odds: float = Field(gt=0)
    pdo: float = Field(gt=0)

    @model_validator(mode="after")
    def _range(self) -> Scale:
        if not self.min_score < self.max_score:
            raise ValueError("min_score must be below max_score")
        return self

    @property
    def factor(self) -> float:
        """Points per unit of log-odds."""
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)


class GradeCut(_Strict):
    grade: Grade
    min_score: int


class Overrides(_Strict):
    listed_grade: Grade
    larger_accident_cap: Grade
    larger_accident_months: int = Field(gt=0)
    score_within_grade: bool = False  # 2026.2 on: the final score lies within the final grade


class Conduct(_Strict):
    context: tuple[str, ...] = ()  # features that set the peer baseline and are never reasons


class Reasons(_Strict):
    max_reasons: int = Field(ge=1, le=4)


class ScoringPolicy(_Strict):
    version: str
    name: str
    scale: Scale
    grades: tuple[GradeCut, ...]
    overrides: Overrides
    reasons: Reasons
    conduct: Conduct = Conduct()
    sha256: str = ""

    @model_validator(mode="after")
    def _grades(self) -> ScoringPolicy:
        cuts = [g.min_score for g in self.grades]
        if [g.grade for g in self.grades] != ["A", "B", "C", "D"]:
            raise ValueError("grades must be listed A, B, C, D")
        if cuts != sorted(cuts, reverse=True) or len(set(cuts)) != len(cuts):
            raise ValueError("grade cut-offs must fall strictly from A to D")
        if cuts[-1] > self.scale.min_score:
            raise ValueError("grade D must start at or below min_score")
        return self

    def grade(self, score: float) -> Grade:
        return next(g.grade for g in self.grades if score >= g.min_score)

    def score_range(self, grade: str) -> tuple[int, int]:
        """The lowest and highest published score of ``grade``."""
        cuts = [g.min_score for g in self.grades]
        at = [str(g.grade) for g in self.grades].index(grade)
        top = self.scale.max_score if at == 0 else cuts[at - 1] - 1
        return max(cuts[at], self.scale.min_score), top


def load_versioned(path: Path, model: type[P]) -> P:
    """A policy file read and validated as ``model``, with the sha256 of its bytes; a file that is
    not TOML, or not the policy, is refused naming the file and the fields."""
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode())
        return model.model_validate({**data, "sha256": hashlib.sha256(raw).hexdigest()})
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise PolicyFileError(f"{path}: {where}") from None


def load_policy(path: Path = DEFAULT) -> ScoringPolicy:
    return load_versioned(path, ScoringPolicy)
