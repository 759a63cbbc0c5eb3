"""API shapes. Every decision carries its evidence: reasons with points, listings in force,
versions, and the ledger row that reproduces it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from features.uscc import shape_problem
from registry.policy import DOMAINS

Grade = Literal["A", "B", "C", "D"]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc)]


class Reason(BaseModel):
    feature: str
    value: float | str | None
    points: float  # negative: what the feature costs against the average enterprise
    zh: str
    en: str


class RecourseOut(BaseModel):
    action: str
    zh: str
    en: str
    points: int  # whole points gained
    grade_after: Grade
    changes_grade: bool


class OverrideOut(BaseModel):
    code: str  # "listed" or "grave_accident"
    grade: Grade
    zh: str
    en: str


class ListingRef(BaseModel):
    entry_id: str
    list_type: str
    policy: str
    rule: str
    department: str
    penalty_decision_id: str
    decided_on: dt.date | None
    published_on: dt.date | None
    term_ends_on: dt.date | None
    automatic_removal: bool
    earliest_repair_on: dt.date | None  # the earliest date removal may be applied for
    state: str


class ScoreOut(BaseModel):
    uscc: str
    as_of: dt.date
    score: int  # within the policy's range, higher is safer
    grade: Grade  # after overrides
    model_grade: Grade  # the model's, before overrides
    probability: float  # P(accident within 12 months)
    reasons: list[Reason]  # at most 4, each a model feature with its points
    recourse: list[RecourseOut]  # what would raise the score
    recourse_note: dict[str, str] | None  # said plainly when nothing changes the grade
    overrides: list[OverrideOut]
    listings: list[ListingRef]  # registry entries in force on as_of
    model_version: str
    policy_version: str
    versions: dict[str, str]
    decision_id: str  # ledger row that reproduces this answer


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    usccs: list[str] = Field(min_length=1, max_length=10_000)
    domain: Literal[DOMAINS]  # type: ignore[valid-type]
    as_of: dt.date | None = None  # today when left out

    @field_validator("usccs")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        bad = [f"usccs[{i}]: {p}" for i, c in enumerate(codes) if (p := _problem(c))]
        if bad:
            raise ValueError(
                "; ".join(bad[:20]) + (f"; … {len(bad)} in all" if len(bad) > 20 else "")
            )
        return [c.strip().upper() for c in codes]


def _problem(code: str) -> str | None:
    problem = shape_problem(code.strip().upper())
    return f"{code!r}: {problem}" if problem else None


class Measure(BaseModel):
    list_type: str
    measure: str
    basis: str


class CheckItem(BaseModel):
    uscc: str
    restricted: bool
    measures: list[Measure]
    entries: list[ListingRef]


class CheckOut(BaseModel):
    domain: str
    as_of: dt.date
    results: list[CheckItem]  # one per distinct code, sorted
    decision_id: str


class EntryStatusOut(BaseModel):
    state: str
    in_force: bool
    proposed_on: dt.date | None
    notified_on: dt.date | None
    objection_until: dt.date | None
    decided_on: dt.date | None
    published_on: dt.date | None
    term_ends_on: dt.date | None
    automatic_removal: bool
    earliest_repair_on: dt.date | None
    removed_on: dt.date | None
    removal: str | None


class EntryOut(BaseModel):
    entry_id: str
    uscc: str
    name: str | None
    list_type: str
    policy: str
    rule: str
    department: str
    penalty_decision_id: str
    evidence: list[dict[str, str]]
    version: int  # send as expected_version when acting
    as_of: dt.date
    status: EntryStatusOut
    allowed_actions: list[str]


class EntriesOut(BaseModel):
    as_of: dt.date
    total: int
    entries: list[EntryOut]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=32)
    on: dt.date | None = None  # today when left out
    reason: str = Field(min_length=1, max_length=2_000)
    details: dict[str, Any] = Field(default_factory=dict)
    expected_version: int | None = Field(None, ge=1)


class ActionOut(BaseModel):
    entry_id: str
    action: str
    acted_on: dt.date
    seq: int
    chain_seq: int
    hash: str
    actor: str
    department: str
    status: EntryStatusOut
    allowed_actions: list[str]


class DecisionOut(BaseModel):
    decision_id: str
    kind: str
    subject: str | None
    decided_at: UtcDatetime
    inputs: dict[str, Any]
    inputs_sha256: str
    versions: dict[str, Any]
    output: dict[str, Any]
    reasons: list[Any]


class ReplayOut(BaseModel):
    decision_id: str
    reproduced: bool
    differences: list[str]


Role = Literal["insurer", "approval_office", "enterprise", "regulator", "admin"]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str = Field("", max_length=200)
    uscc: str | None = None
    department: str | None = Field(None, max_length=200)


class KeyOut(BaseModel):
    key_id: str
    role: str
    name: str
    uscc: str | None
    department: str | None
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None


class KeyCreated(KeyOut):
    token: str  # shown once; only its hash is kept
