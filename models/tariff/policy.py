"""Tariffs as versioned data: one TOML file per tariff version under ``models/policies/``
(``tariff-*.toml``), validated on load; its version and sha256 go on every quote.

A tariff states the unit of its rates, the compulsory industries, the legal minimum insured
amount, headcount size bands, base rates by industry and band, the expected risk of each
industry and band (the reference the model-risk factor compares against), each floating factor's
table, the band the product of the factors is clamped to, and an optional renewal cap.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from features.contracts import INDUSTRIES
from features.grades import GRADE_ORDER
from models.policy import POLICY_DIR, PolicyFileError

DEFAULT = POLICY_DIR / "tariff-2026.2.toml"
HONOURS = ("none", "city", "province")
# the most any tariff may insure a person for, and insure at once: the arithmetic stays finite
MAX_INSURED_AMOUNT_CNY = 1e10
MAX_HEADCOUNT = 10_000_000
Unit = Literal["permille_of_insured_amount"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Insurance(_Strict):
    min_insured_amount_cny: float = Field(gt=0)
    max_insured_amount_cny: float = Field(
        default=MAX_INSURED_AMOUNT_CNY, gt=0, le=MAX_INSURED_AMOUNT_CNY
    )
    compulsory_industries: tuple[str, ...]
    max_lead_days: int = Field(ge=0)  # how far after as_of a period may start

    @field_validator("compulsory_industries")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(INDUSTRIES))
        if unknown:
            raise ValueError(f"unknown industries {unknown}")
        return value


class SizeBands(_Strict):
    upper: tuple[int, ...]  # inclusive headcount upper bounds; the last band is open
    labels: tuple[str, ...]

    @model_validator(mode="after")
    def _shape(self) -> SizeBands:
        if len(self.labels) != len(self.upper) + 1:
            raise ValueError("labels must number one more than upper bounds")
        if list(self.upper) != sorted(set(self.upper)) or (self.upper and self.upper[0] < 1):
            raise ValueError("upper bounds must rise strictly from at least 1")
        return self

    def index(self, headcount: np.ndarray) -> np.ndarray:
        """Band position of each headcount."""
        return np.searchsorted(np.asarray(self.upper), np.asarray(headcount), side="left")


class ModelRisk(_Strict):
    enabled: bool
    # "probability": the model's P against the reference of the industry and size band (2026.1);
    # "conduct": the credit score's relative risk, the odds its conduct gives against an average
    # enterprise of the same exposure, read off the score (2026.2): no reference table, and the
    # base rate alone prices the exposure
    basis: Literal["probability", "conduct"] = "probability"
    credibility_k: float = Field(gt=0)  # headcount at which the credibility weight is 1/2
    relative_floor: float = Field(gt=0)  # relative risk is clipped to [floor, cap] first
    relative_cap: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> ModelRisk:
        if not self.relative_floor <= 1 <= self.relative_cap:
            raise ValueError("need relative_floor <= 1 <= relative_cap")
        return self


class AccidentExperience(_Strict):
    months: int = Field(gt=0)  # accidents that occurred this many months before the period
    responsible_only: bool
    none: float = Field(gt=0)
    general: float = Field(gt=0)
    larger: float = Field(gt=0)
    major: float = Field(gt=0)
    especially_major: float = Field(gt=0)

    def multiplier(self, grade: str) -> float:
        return float(getattr(self, grade or "none"))

    @model_validator(mode="after")
    def _rising(self) -> AccidentExperience:
        values = [self.none, *(getattr(self, g) for g in GRADE_ORDER)]
        if values != sorted(values):
            raise ValueError("multipliers must not fall as the accident grade rises")
        return self


class Standardization(_Strict):
    grade_1: float = Field(gt=0)
    grade_2: float = Field(gt=0)
    grade_3: float = Field(gt=0)
    ungraded: float = Field(gt=0)


class Honours(_Strict):
    none: float = Field(gt=0)
    city: float = Field(gt=0)
    province: float = Field(gt=0)


class Listing(_Strict):
    surcharge: float = Field(
        gt=0
    )  # multiplier while an entry with an insurance measure is in force


class Factors(_Strict):
    model_risk: ModelRisk
    accident_experience: AccidentExperience
    standardization: Standardization
    honours: Honours
    listing: Listing


class Band(_Strict):
    floor: float = Field(gt=0)
    cap: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> Band:
        if not self.floor <= 1 <= self.cap:
            raise ValueError("need floor <= 1 <= cap")
        return self


class Renewal(_Strict):
    max_increase: float = Field(ge=0)  # share of last year's rate
    max_decrease: float = Field(ge=0, le=1)


class Tariff(_Strict):
    version: str
    name: str
    region: str
    unit: Unit
    insurance: Insurance
    size_bands: SizeBands
    base_rates: dict[str, tuple[float, ...]]  # ‰ of the insured amount, per person and year
    reference: dict[str, tuple[float, ...]]  # expected P(responsible accident in 12 months)
    reference_source: str
    factors: Factors
    band: Band
    renewal: Renewal | None = None
    sha256: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _tables(self) -> Tariff:
        width = len(self.size_bands.labels)
        for table, low, high in (("base_rates", 0, np.inf), ("reference", 0, 1)):
            rows = getattr(self, table)
            missing = sorted(set(INDUSTRIES) - set(rows))
            unknown = sorted(set(rows) - set(INDUSTRIES))
            if missing or unknown:
                raise ValueError(f"{table}: missing industries {missing}, unknown {unknown}")
            for industry, values in rows.items():
                if len(values) != width:
                    raise ValueError(f"{table}.{industry}: {len(values)} values for {width} bands")
                if not all(low < v < high for v in values):
                    raise ValueError(f"{table}.{industry}: values must lie in ({low}, {high})")
        return self

    @property
    def label(self) -> str:
        return f"{self.version} ({self.sha256[:12]})"

    def table(self, name: str) -> np.ndarray:
        """``base_rates`` or ``reference`` as an (industry, band) array in INDUSTRIES order."""
        rows = getattr(self, name)
        return np.array([rows[industry] for industry in INDUSTRIES], dtype=float)


def load_tariff(path: str | Path = DEFAULT) -> Tariff:
    """Read and validate a tariff file (a path, or a stem such as ``tariff-fuyang-2026.1``)."""
    p = Path(path)
    if p.suffix != ".toml":
        p = POLICY_DIR / f"{p.name}.toml"
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise PolicyFileError(f"tariff file {p} cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return Tariff.model_validate(
            {**data, "sha256": hashlib.sha256(raw).hexdigest(), "source": p.name}
        )
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"{p}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise PolicyFileError(f"{p}: {where}") from None


def tariffs() -> list[Path]:
    """The shipped tariff files."""
    return sorted(POLICY_DIR.glob("tariff-*.toml"))
