"""Listing policies as versioned data: one TOML file per policy version under ``policies/``.

A file states the list type, its term, how entries leave the list (expiry, repair on
application), the procedure's time limits, every listing rule with its entry standard, removal
conditions, procedure and remedies (国办发〔2020〕49号), and the measures each domain applies
(发改财金〔2016〕1001号). It is validated on load; its version and sha256 go on every entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from features.contracts import INDUSTRIES, PENALTY_MEASURES, REPORTING, VIOLATION_CATEGORIES
from features.grades import GRADE_ORDER
from registry.errors import PolicyError

POLICY_DIR = Path(__file__).with_name("policies")
DOMAINS = (
    "administrative_approval",
    "government_procurement",
    "bidding",
    "state_land",
    "financing",
    "qualification_review",
    "insurance_surcharge",
    "inspection_frequency",
)
Grade = Literal["general", "larger", "major", "especially_major"]
MatcherKind = Literal[
    "accident_grade",  # one accident at or above a grade
    "accident_count",  # at least `count` accidents within `window_months`
    "accident_fine_multiplier",  # the accident's penalty fined by multiple (安全生产法 Art. 114)
    "accident_reporting",  # reporting in `reporting` (瞒报, 谎报, 迟报)
    "accident_principal_fled",  # accidents.principal_fled
    "violation_category",  # a penalised violation whose category is in `categories`
    "serious_penalty",  # a serious violation whose penalty measure is in `measures`
    "major_hazard_overdue",  # a 重大隐患 still open past its deadline
]
Condition = Literal[
    "term_served",  # at least repair.after_months since publication
    "penalties_fulfilled",  # every penalty decision on the entry carried out
    "hazards_rectified",  # no hidden danger open past its deadline
    "no_new_event",  # no new triggering event since publication
    "commitment_signed",  # a credit commitment (信用承诺书) dated on or before the approval
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Matcher(_Strict):
    kind: MatcherKind
    min_grade: Grade = "general"
    max_grade: Grade = "especially_major"
    min_deaths: int = Field(0, ge=0)
    count: int = Field(1, ge=1)
    window_months: int = Field(12, ge=1)
    responsible: bool = False  # True: only accidents the enterprise was found responsible for
    reporting: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()  # empty: any industry
    measures: tuple[str, ...] = ()
    multiplier_low: int = 2
    multiplier_high: int = 5

    @model_validator(mode="after")
    def _check(self) -> Matcher:
        if GRADE_ORDER.index(self.min_grade) > GRADE_ORDER.index(self.max_grade):
            raise ValueError("min_grade is above max_grade")
        unknown = {
            "reporting": set(self.reporting) - set(REPORTING),
            "categories": set(self.categories) - set(VIOLATION_CATEGORIES),
            "industries": set(self.industries) - set(INDUSTRIES),
            "measures": set(self.measures) - set(PENALTY_MEASURES),
        }
        for name, bad in unknown.items():
            if bad:
                raise ValueError(f"{name} has unknown values: {sorted(bad)}")
        needs = {
            "accident_reporting": "reporting",
            "violation_category": "categories",
            "serious_penalty": "measures",
        }
        if self.kind in needs and not getattr(self, needs[self.kind]):
            raise ValueError(f"kind {self.kind} needs a non-empty {needs[self.kind]}")
        return self


class Rule(_Strict):
    code: str
    title: str
    match: tuple[Matcher, ...] = Field(min_length=1)  # any of them triggers the rule
    basis: str
    entry_standard: str
    removal: str
    procedure: str
    remedies: str
    enabled: bool = True


class Term(_Strict):
    months: int = Field(ge=1)
    automatic_removal: bool  # True: the entry leaves the list at expiry with no action
    repeat_listing_months: int | None = Field(None, ge=1)  # a second listing's term, if any


class Repair(_Strict):
    allowed: bool
    after_months: int | None = Field(None, ge=0)  # earliest application after publication
    apply_within_days_before_expiry: int | None = Field(None, ge=0)  # application window
    removal_effective: Literal["on_approval", "at_expiry"]
    conditions: tuple[Condition, ...]
    fraud_restores: bool

    @model_validator(mode="after")
    def _check(self) -> Repair:
        when = (self.after_months, self.apply_within_days_before_expiry)
        if self.allowed and when == (None, None):
            raise ValueError(
                "say when an application may be made: after_months or "
                "apply_within_days_before_expiry"
            )
        return self


class Procedure(_Strict):
    objection_working_days: int = Field(ge=1)
    holidays: tuple[dt.date, ...] = ()  # non-working days besides Saturdays and Sundays
    # how many days before the day it is entered a regulator's action may take effect (a
    # decision made on paper, entered late, with the reason); None: never earlier
    late_entry_days: int | None = Field(None, ge=0, le=366)


class Measure(_Strict):
    domain: str
    measure: str
    basis: str


class English(_Strict):
    """The English text of a policy's list name and rule titles, for pages read in English."""

    name: str = Field(min_length=1)
    titles: dict[str, str]


class Policy(_Strict):
    id: str
    version: str
    name: str
    list_type: str
    events_from: dt.date | None = None  # the rules apply to events on or after this date
    events_until: dt.date | None = None  # … and on or before this one
    term: Term
    repair: Repair
    procedure: Procedure
    rules: tuple[Rule, ...] = Field(min_length=1)
    measures: tuple[Measure, ...]
    incentives: tuple[Measure, ...]
    sha256: str = ""
    source: str = ""
    english: English | None = None  # from ``policies/en/<stem>.toml``; outside the sha256

    @model_validator(mode="after")
    def _check(self) -> Policy:
        codes = [r.code for r in self.rules]
        if len(codes) != len(set(codes)):
            raise ValueError(f"rule codes repeat: {sorted(c for c in codes if codes.count(c) > 1)}")
        for group, items in (("measures", self.measures), ("incentives", self.incentives)):
            domains = [m.domain for m in items]
            bad = sorted(set(domains) - set(DOMAINS))
            if bad:
                raise ValueError(f"{group} name unknown domains {bad}; known: {list(DOMAINS)}")
            if len(domains) != len(set(domains)):
                raise ValueError(f"{group}: a domain appears twice")
        missing = sorted(set(DOMAINS) - {m.domain for m in self.measures})
        if missing:
            raise ValueError(f"measures missing for domains {missing}")
        return self

    def list_name(self, lang: str) -> str:
        """The list's name in ``lang`` ("zh" or "en"); Chinese where no English text is shipped."""
        return self.english.name if lang == "en" and self.english else self.name

    def rule_title(self, code: str, lang: str) -> str:
        """A rule's title in ``lang``; Chinese where no English text is shipped."""
        if lang == "en" and self.english:
            return self.english.titles[code]
        return self.rule(code).title

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def rule(self, code: str) -> Rule:
        for r in self.rules:
            if r.code == code:
                return r
        raise PolicyError(f"policy {self.key} has no rule {code!r}")

    def measure(self, domain: str) -> Measure:
        for m in self.measures:
            if m.domain == domain:
                return m
        raise PolicyError(f"policy {self.key} has no measure for domain {domain!r}")


def load_policy(path: str | Path) -> Policy:
    """Read and validate one policy file (a path, or a file stem under ``policies/``)."""
    p = Path(path)
    if not p.suffix:
        p = POLICY_DIR / f"{p.name}.toml"
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise PolicyError(f"policy file {p} cannot be read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy file {p} is not valid TOML: {exc}") from exc
    try:
        policy = Policy.model_validate(
            {**data, "sha256": hashlib.sha256(raw).hexdigest(), "source": str(p)}
        )
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"policy file {p} is invalid: {where}") from exc
    english = _english(p, policy)
    return policy.model_copy(update={"english": english}) if english else policy


def _english(policy_file: Path, policy: Policy) -> English | None:
    """The English text beside a policy file, if one is shipped (``en/<same name>``): a list
    name and a title for every rule, and no other."""
    p = policy_file.parent / "en" / policy_file.name
    if not p.exists():
        return None
    try:
        english = English.model_validate(tomllib.loads(p.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy translation {p} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"policy translation {p} is invalid: {where}") from exc
    codes = {r.code for r in policy.rules}
    if set(english.titles) != codes:
        raise PolicyError(
            f"policy translation {p} must title every rule of {policy.key} once: "
            f"missing {sorted(codes - set(english.titles))}, "
            f"unknown {sorted(set(english.titles) - codes)}"
        )
    return english


@lru_cache
def policies() -> dict[str, Policy]:
    """Every shipped policy by its key ``id@version``."""
    found = [load_policy(p) for p in sorted(POLICY_DIR.glob("*.toml"))]
    return {p.key: p for p in found}


def find_policy(key: str) -> Policy:
    """A shipped policy by ``id@version``, by ``id`` (the newest version), or by file stem."""
    shipped = policies()
    if key in shipped:
        return shipped[key]
    same_id = sorted((p for p in shipped.values() if p.id == key), key=lambda p: p.version)
    if same_id:
        return same_id[-1]
    if (POLICY_DIR / f"{key}.toml").exists():
        return load_policy(key)
    raise PolicyError(f"no policy {key!r}; shipped: {sorted(shipped)}")
