"""API shapes. Every decision carries its evidence: reasons with points, listings in force,
versions, and the ledger row that reproduces it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from registry.policy import DOMAINS
from registry.status import ACTIONS
from service.api.inputs import STRICT, Day, Details, Line, Moment, Text

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


Code = Annotated[Line, Field(min_length=1, max_length=64, description="a USCC as given")]
CheckStatus = Literal["restricted", "clear", "not_found", "invalid"]


class CheckItemIn(BaseModel):
    model_config = STRICT

    uscc: Code
    ref: Text | None = Field(
        None, max_length=200, description="the caller's own reference, echoed back"
    )


class CheckIn(BaseModel):
    """Codes as a list (``usccs``) or as items with a reference each (``items``); answered
    one result per code, in the order asked."""

    model_config = STRICT

    usccs: list[Code] | None = Field(
        None, min_length=1, max_length=10_000, description="the codes to check (or items)"
    )
    items: list[CheckItemIn] | None = Field(
        None, min_length=1, max_length=10_000, description="codes with a reference each"
    )
    domain: Literal[DOMAINS] = Field(  # type: ignore[valid-type]
        description="the approval domain the check is for"
    )
    as_of: Day | None = Field(None, description="the day checked (today when left out)")
    known_at: Moment | None = Field(
        None,
        description="as the registry knew it at this time (now when left out): an auditor's "
        "question; ISO 8601, not in the future",
    )

    @model_validator(mode="after")
    def _one_list(self) -> CheckIn:
        if (self.usccs is None) == (self.items is None):
            raise ValueError("give usccs or items, not both and not neither")
        if self.known_at is not None and self.known_at.tzinfo is None:
            self.known_at = self.known_at.replace(tzinfo=dt.UTC)
        return self

    def codes(self) -> tuple[list[str], list[str | None] | None]:
        if self.items is not None:
            return [i.uscc for i in self.items], [i.ref for i in self.items]
        return list(self.usccs or ()), None


class Measure(BaseModel):
    list_type: str
    measure: str
    basis: str


class Incentive(BaseModel):
    policy: str
    measure: str
    basis: str


class EvidenceRef(BaseModel):
    table: str  # accidents, violations, penalties, hazards
    id: str


class GroundOut(BaseModel):
    rule: str
    title: str  # the rule's title in the policy
    basis: str  # its legal basis
    evidence: list[EvidenceRef]  # the records that meet it
    event_on: dt.date


class PersonOut(BaseModel):
    role: str  # legal_representative, principal, safety_lead, …
    name: str


class CheckEntry(ListingRef):
    """An entry in force, as a check shows it: the unit's name, the persons listed with it,
    every rule it meets with its title and basis, and the records behind them."""

    name: str | None
    persons: list[PersonOut]
    grounds: list[GroundOut]
    evidence: list[EvidenceRef]


class CheckItem(BaseModel):
    ref: str | None = None
    uscc: str
    status: CheckStatus
    restricted: bool  # true only when status is restricted
    name: str | None  # the enterprise's name as known on as_of
    note: str | None  # invalid: why; otherwise a remark on the code, if any
    grade: Grade | None  # the credit grade, when a score was at hand
    measures: list[Measure]
    entries: list[CheckEntry]
    incentives: list[Incentive]  # clear, grade A, never listed: what the policies offer


class CheckOut(BaseModel):
    domain: str
    as_of: dt.date
    known_at: UtcDatetime  # the registry as known at this time
    results: list[CheckItem]  # one per code asked, in the order asked
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
    rules: list[str]  # every rule the penalty decision meets
    department: str
    penalty_decision_id: str
    evidence: list[EvidenceRef]
    version: int  # send as expected_version when acting
    as_of: dt.date
    status: EntryStatusOut
    allowed_actions: list[str] | None  # regulators' and the enterprise's: what may happen now


class EntriesOut(BaseModel):
    as_of: dt.date
    total: int
    entries: list[EntryOut]


ActionName = Literal[tuple(sorted(ACTIONS - {"propose"}))]  # type: ignore[valid-type]


class ActionIn(BaseModel):
    model_config = STRICT

    action: ActionName = Field(description="the step of the procedure")  # type: ignore[valid-type]
    on: Day | None = Field(
        None,
        description="the day it takes effect: today when left out; a regulator may give an "
        "earlier day within the policy's late-entry grace, with late_reason; an enterprise's "
        "filing takes today",
    )
    late_reason: Text | None = Field(
        None, min_length=1, max_length=2_000, description="why the action is dated earlier"
    )
    reason: Text = Field(min_length=1, max_length=2_000, description="why, in words")
    details: Details = Field(
        default_factory=dict,
        description="by action (see the README): JSON with finite numbers and printable text, "
        "at most 16 KB",
    )
    expected_version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="the entry's version you acted on (409 if stale)"
    )


class ConditionOut(BaseModel):
    met: bool
    why: str


class PrecheckOut(BaseModel):
    """A repair application assessed as filed: what is met, what is missing, and the earliest
    day it can be approved (null while a condition other than time is missing)."""

    conditions: dict[str, ConditionOut]
    missing: list[str]
    earliest_approval_on: dt.date | None


class ActionOut(BaseModel):
    entry_id: str
    action: str
    acted_on: dt.date  # the day it takes effect
    recorded_at: UtcDatetime  # when the server recorded it
    late_entry: dict[str, str] | None  # {entered_on, reason} for an action dated before its day
    precheck: PrecheckOut | None  # apply_repair only
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
    model_config = STRICT

    role: Role = Field(description="what the key may do")
    name: Line = Field("", max_length=200, description="who holds the key")
    uscc: Line | None = Field(
        None, max_length=18, description="the enterprise an enterprise key is bound to"
    )
    department: Line | None = Field(
        None, max_length=200, description="the department a regulator key acts for"
    )
    expires_in: Line | None = Field(
        None, max_length=16, description='e.g. "90d", "12h", "30m": refused from then on'
    )


class KeyOut(BaseModel):
    key_id: str
    role: str
    name: str
    uscc: str | None
    department: str | None
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None
    expires_at: UtcDatetime | None  # refused from then on; None: never
    last_used_at: UtcDatetime | None  # to within a minute; None: not used yet


class KeyCreated(KeyOut):
    token: str  # shown once; only its hash is kept
