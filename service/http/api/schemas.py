"""API shapes. Every decision carries its evidence: reasons with points, listings in force,
versions, and the ledger row that reproduces it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from registry.policy import DOMAINS
from registry.status import ACTIONS
from service.http.api.inputs import STRICT, Day, Details, Line, Moment, Text

Grade = Literal["A", "B", "C", "D"]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc)]


class Reason(BaseModel):
    feature: str = Field(description="the model feature")
    value: float | str | None = Field(
        description="the enterprise's value of the feature (null: missing)"
    )
    points: float = Field(
        description="negative: what the feature costs against the average enterprise"
    )
    zh: str = Field(description="the reason in Chinese")
    en: str = Field(description="the reason in English")
    code: int | None = Field(
        default=None,
        description="the catalogue's stable reason code (never reused); null before policy 2026.2",
    )
    expected: float | None = Field(
        default=None,
        description="for a count judged against peers: what enterprises of the same industry and "
        "size band have on average (null: not a count judged so)",
    )


class RecourseOut(BaseModel):
    action: str = Field(description="the recourse action's code")
    zh: str = Field(description="what to do, in Chinese")
    en: str = Field(description="what to do, in English")
    points: int = Field(description="whole points gained")
    grade_after: Grade = Field(description="the model's grade once the action is taken")
    changes_grade: bool = Field(
        description="true when grade_after differs from the model's grade now"
    )


class OverrideOut(BaseModel):
    code: str = Field(description='"listed" or "grave_accident"')
    grade: Grade = Field(description="the grade it forces or caps at")
    zh: str = Field(description="why, in Chinese")
    en: str = Field(description="why, in English")


class ListingRef(BaseModel):
    entry_id: str = Field(description="the registry entry's id")
    list_type: str = Field(description="the list the entry is on")
    policy: str = Field(description="the listing policy, as id@version")
    rule: str = Field(description="the policy's rule the entry was listed under")
    department: str = Field(description="the department that decided the listing")
    penalty_decision_id: str = Field(
        description="the administrative penalty decision the entry rests on"
    )
    decided_on: dt.date | None = Field(description="the day the listing was decided")
    published_on: dt.date | None = Field(description="the day the listing was published")
    term_ends_on: dt.date | None = Field(description="publication plus the term")
    automatic_removal: bool = Field(description="true: the entry leaves the list on term_ends_on")
    earliest_repair_on: dt.date | None = Field(
        description="the earliest date removal may be applied for"
    )
    state: str = Field(description="the entry's procedure state on as_of")


class ScoreOut(BaseModel):
    uscc: str = Field(description="the enterprise's USCC")
    as_of: dt.date = Field(description="the day scored")
    score: int = Field(description="within the policy's range, higher is safer")
    grade: Grade = Field(description="after overrides")
    model_grade: Grade = Field(description="the model's, before overrides")
    model_score: int | None = Field(
        default=None,
        description="the model's score before an override held it within the final grade "
        "(policy 2026.2 on; null before)",
    )
    probability: float = Field(description="P(accident within 12 months)")
    reasons: list[Reason] = Field(description="at most 4, each a model feature with its points")
    recourse: list[RecourseOut] = Field(description="what would raise the score")
    recourse_note: dict[str, str] | None = Field(
        description="said plainly when nothing changes the grade"
    )
    overrides: list[OverrideOut] = Field(
        description="the scoring policy's overrides that set the grade, if any"
    )
    listings: list[ListingRef] = Field(description="registry entries in force on as_of")
    model_version: str = Field(description="the champion model's version")
    policy_version: str = Field(description="the scoring policy's version")
    versions: dict[str, str] = Field(
        description="what answered: model, scoring policy, recourse actions, catalogue"
    )
    decision_id: str = Field(description="ledger row that reproduces this answer")


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
    list_type: str = Field(description="the list whose entry applies the measure")
    measure: str = Field(description="the measure in the domain checked")
    basis: str = Field(description="its legal basis")


class Incentive(BaseModel):
    policy: str = Field(description="the policy that offers it")
    measure: str = Field(description="the incentive")
    basis: str = Field(description="its legal basis")


class EvidenceRef(BaseModel):
    table: str = Field(description="accidents, violations, penalties, hazards")
    id: str = Field(description="the record's id in that table")


class GroundOut(BaseModel):
    rule: str = Field(description="the policy's rule met")
    title: str = Field(description="the rule's title in the policy")
    basis: str = Field(description="its legal basis")
    evidence: list[EvidenceRef] = Field(description="the records that meet it")
    event_on: dt.date = Field(description="the day of the event that meets it")


class PersonOut(BaseModel):
    role: str = Field(description="legal_representative, principal, safety_lead, …")
    name: str = Field(description="the person's name")


class CheckEntry(ListingRef):
    """An entry in force, as a check shows it: the unit's name, the persons listed with it,
    every rule it meets with its title and basis, and the records behind them."""

    name: str | None = Field(description="the unit's name, as corrected by the day")
    persons: list[PersonOut] = Field(description="the persons listed with the unit")
    grounds: list[GroundOut] = Field(
        description="every rule the penalty decision meets, with its title and basis"
    )
    evidence: list[EvidenceRef] = Field(description="the records behind all its grounds")


class CheckItem(BaseModel):
    ref: str | None = Field(
        None, description="the caller's reference, echoed back (null when none was given)"
    )
    uscc: str = Field(description="the code checked, trimmed and upper-cased")
    status: CheckStatus = Field(
        description="restricted, clear, not_found (not in the store as of the day) or invalid"
    )
    restricted: bool = Field(description="true only when status is restricted")
    name: str | None = Field(description="the enterprise's name as known on as_of")
    note: str | None = Field(description="invalid: why; otherwise a remark on the code, if any")
    grade: Grade | None = Field(description="the credit grade, when a score was at hand")
    measures: list[Measure] = Field(description="what the entries in force apply in the domain")
    entries: list[CheckEntry] = Field(description="the entries in force on as_of")
    incentives: list[Incentive] = Field(
        description="clear, grade A, never listed: what the policies offer"
    )


class CheckOut(BaseModel):
    domain: str = Field(description="the approval domain checked")
    as_of: dt.date = Field(description="the day checked")
    known_at: UtcDatetime = Field(description="the registry as known at this time")
    results: list[CheckItem] = Field(description="one per code asked, in the order asked")
    decision_id: str = Field(description="ledger row that reproduces this answer")


class EntryStatusOut(BaseModel):
    state: str = Field(
        description="the procedure state on the day: none, proposed, notified, objected, "
        "upheld, decided, published, repair_applied, removed, revoked or expired"
    )
    in_force: bool = Field(description="the measures apply on this day")
    proposed_on: dt.date | None = Field(description="the day the entry was proposed")
    notified_on: dt.date | None = Field(description="the day the enterprise was notified")
    objection_until: dt.date | None = Field(
        description="the last day for an objection, as notified"
    )
    decided_on: dt.date | None = Field(description="the day the listing was decided")
    published_on: dt.date | None = Field(description="the day the listing was published")
    term_ends_on: dt.date | None = Field(description="publication plus the term")
    automatic_removal: bool = Field(description="true: the entry leaves the list on term_ends_on")
    earliest_repair_on: dt.date | None = Field(
        description="when an application for removal may be made"
    )
    removed_on: dt.date | None = Field(
        description="first day no longer in force (expiry or repair)"
    )
    removal: str | None = Field(description='"expiry" or "repair"')


class EntryOut(BaseModel):
    entry_id: str = Field(description="the registry entry's id")
    uscc: str = Field(description="the enterprise's USCC")
    name: str | None = Field(description="the unit's name as recorded")
    list_type: str = Field(description="the list the entry is for")
    policy: str = Field(description="the listing policy, as id@version")
    rule: str = Field(description="the policy's rule the entry was listed under")
    rules: list[str] = Field(description="every rule the penalty decision meets")
    department: str = Field(description="the department that decides the listing")
    penalty_decision_id: str = Field(
        description="the administrative penalty decision the entry rests on"
    )
    evidence: list[EvidenceRef] = Field(description="the records behind all its grounds")
    version: int = Field(description="send as expected_version when acting")
    as_of: dt.date = Field(description="the day the status is for")
    status: EntryStatusOut = Field(description="the entry's status on as_of")
    allowed_actions: list[str] | None = Field(
        description="regulators' and the enterprise's: what may happen now (null for "
        "approval offices and insurers)"
    )


class EntriesOut(BaseModel):
    as_of: dt.date = Field(description="the day the statuses are for")
    total: int = Field(description="entries found, over all pages")
    entries: list[EntryOut] = Field(description="this page, by USCC then entry id")


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
    met: bool = Field(description="whether the condition is met")
    why: str = Field(description="why, in words")


class PrecheckOut(BaseModel):
    """A repair application assessed as filed: what is met, what is missing, and the earliest
    day it can be approved (null while a condition other than time is missing)."""

    conditions: dict[str, ConditionOut] = Field(description="each condition for removal, by name")
    missing: list[str] = Field(description="the conditions not met")
    earliest_approval_on: dt.date | None = Field(
        description="null while a condition other than time is missing"
    )


class ActionOut(BaseModel):
    entry_id: str = Field(description="the entry acted on")
    action: str = Field(description="the step of the procedure recorded")
    acted_on: dt.date = Field(description="the day it takes effect")
    recorded_at: UtcDatetime = Field(description="when the server recorded it")
    late_entry: dict[str, str] | None = Field(
        description="{entered_on, reason} for an action dated before its day"
    )
    precheck: PrecheckOut | None = Field(description="apply_repair only")
    seq: int = Field(description="the action's place among the entry's: 1, 2, …")
    chain_seq: int = Field(
        description="the action's place in the registry's hash chain: 1, 2, … gapless"
    )
    hash: str = Field(description="sha256 of the action's content and the previous action's hash")
    actor: str = Field(description="who acted: the key's holder and id, or the enterprise")
    department: str = Field(description="the department acted for")
    status: EntryStatusOut = Field(description="the entry's status today, after the action")
    allowed_actions: list[str] = Field(description="what may happen next, today")


class DecisionOut(BaseModel):
    decision_id: str = Field(description="the ledger row's id")
    kind: str = Field(description='"score", "quote" or "check"')
    subject: str | None = Field(description="the USCC, when there is one")
    decided_at: UtcDatetime = Field(description="when the answer was given")
    inputs: dict[str, Any] = Field(description="what was asked, as recorded")
    inputs_sha256: str = Field(description="sha256 of the inputs in canonical JSON")
    versions: dict[str, Any] = Field(
        description="the versions that answered and the registry as read"
    )
    output: dict[str, Any] = Field(description="the answer given, without its decision id")
    reasons: list[Any] = Field(description="the answer's reasons, as recorded")


class ReplayOut(BaseModel):
    decision_id: str = Field(description="the ledger row replayed")
    reproduced: bool = Field(
        description="true when its row passes its checks and recomputing gives the same output"
    )
    differences: list[str] = Field(
        description="what differs, or the row's failed checks; empty when reproduced"
    )


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
    key_id: str = Field(description="the key's id")
    role: str = Field(description="what the key may do")
    name: str = Field(description="who holds the key")
    uscc: str | None = Field(description="the enterprise an enterprise key is bound to")
    department: str | None = Field(description="the department a regulator key acts for")
    created_at: UtcDatetime = Field(description="when the key was created")
    revoked_at: UtcDatetime | None = Field(
        description="when the key was revoked; null: not revoked"
    )
    expires_at: UtcDatetime | None = Field(description="refused from then on; null: never")
    last_used_at: UtcDatetime | None = Field(description="to within a minute; null: not used yet")


class KeyCreated(KeyOut):
    token: str = Field(description="shown once; only its hash is kept")
