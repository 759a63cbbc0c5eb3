"""Quotes for 安全生产责任保险: the enterprise record, its score decision and the listings in
force, priced by a versioned tariff. The library call the HTTP service and ``safecredit quote``
use; many enterprises go through the same vectorised path as one.

Read-only: a quote writes nothing, so the caller's session needs no transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache, lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from features.store import History, read_history
from features.uscc import shape_problem
from models.tariff import HONOURS, Factor, Tariff, factors
from models.tariff.experience import Records
from models.tariff.policy import MAX_HEADCOUNT
from models.tariff.rate import price_columns
from registry.clock import FIRST_YEAR, LAST_YEAR
from registry.errors import PolicyError
from registry.index import InForce
from registry.policy import find_policy
from service.engine.books import Books
from service.engine.decisions import (
    Batch,
    Listings,
    Scorer,
    final_grades,
    final_scores,
    score_batch,
)
from service.engine.errors import NotFound, ServiceError

SURCHARGE_DOMAIN = "insurance_surcharge"
RECORD_TABLES = ("enterprises", "accidents")  # what a quote reads beside its score


class QuoteError(ServiceError):
    """Bad quote input: every problem, each naming the field (and the row in a batch)."""

    status = 422
    kind = "bad_quote"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class UnknownEnterprise(NotFound):
    """A code the store does not know as of the quote's date (``codes``: every such code)."""

    def __init__(self, detail: str, codes: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.codes = list(codes)


@dataclass(frozen=True)
class Quoter:
    """What a quote needs, loaded once: the scorer (model and scoring policy) and the tariff."""

    scorer: Scorer
    tariff: Tariff

    @property
    def versions(self) -> dict[str, str]:
        return {**self.scorer.versions, "tariff": self.tariff.label}


@dataclass(frozen=True)
class QuoteRequest:
    uscc: str
    insured_amount_cny: float  # death/disability limit per person, CNY
    period_start: dt.date
    as_of: dt.date | None = None  # default: the period start
    headcount: int | None = None  # default: the enterprise record's employees
    honours: str = "none"  # none, city or province safety honours (no column in the contract)
    previous_rate: float | None = None  # last year's rate ‰, for the renewal cap

    @property
    def when(self) -> dt.date:
        return self.as_of or self.period_start


@dataclass
class Quote:
    uscc: str
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    industry: str
    compulsory: bool  # insurance compulsory for this industry under the tariff's scope
    headcount: int
    headcount_source: str  # "request" or "enterprise record"
    insured_amount_cny: float
    size_band: str
    unit: str
    base_rate: float  # ‰ of the insured amount per person and year
    factors: list[Factor]
    product: float  # of the factors, before the band
    product_banded: float
    band: tuple[float, float]
    rate_banded: float
    rate: float  # final, after the renewal cap (‰)
    renewal_capped: bool
    previous_rate: float | None
    premium_cny: float
    probability: float
    score: int
    grade: str  # the decision's grade, overrides applied; the quote prices the probability
    reasons: list[dict[str, Any]]  # the score's principal reasons, behind the model-risk factor
    listings: list[str]  # entry ids in force at as_of
    tariff_version: str
    tariff_sha256: str
    model_version: str
    versions: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(tariff: Tariff, requests: Sequence[QuoteRequest]) -> None:
    """Raise :class:`QuoteError` naming every bad field (with its row when there are several)."""
    problems: list[str] = []
    minimum = tariff.insurance.min_insured_amount_cny
    maximum = tariff.insurance.max_insured_amount_cny
    lead = tariff.insurance.max_lead_days
    for i, r in enumerate(requests):
        at = f"row {i + 1}: " if len(requests) > 1 else ""
        before = len(problems)
        shape = shape_problem(str(r.uscc))
        if shape:
            problems.append(f"{at}uscc: {shape}")
        amount = r.insured_amount_cny
        if not isinstance(amount, int | float) or not math.isfinite(amount):
            problems.append(f"{at}insured_amount_cny: {amount!r} is not a number")
        elif amount < minimum:
            problems.append(
                f"{at}insured_amount_cny: {amount:,.0f} CNY is below the minimum of "
                f"{minimum:,.0f} CNY per person (应急〔2025〕27号)"
            )
        elif amount > maximum:
            problems.append(
                f"{at}insured_amount_cny: {amount:,.6g} CNY is above the tariff's maximum of "
                f"{maximum:,.0f} CNY per person"
            )
        if r.headcount is not None and (
            not isinstance(r.headcount, int) or not 1 <= r.headcount <= MAX_HEADCOUNT
        ):
            problems.append(
                f"{at}headcount: {r.headcount!r} must be a whole number from 1 to {MAX_HEADCOUNT:,}"
            )
        if r.honours not in HONOURS:
            problems.append(f"{at}honours: {r.honours!r} must be one of {', '.join(HONOURS)}")
        if r.previous_rate is not None and not (
            isinstance(r.previous_rate, int | float) and r.previous_rate > 0
        ):
            problems.append(f"{at}previous_rate: {r.previous_rate!r} must be a positive rate (‰)")
        for name in ("period_start", "as_of"):
            value = getattr(r, name)
            if value is not None and not isinstance(value, dt.date):
                problems.append(f"{at}{name}: {value!r} is not a date (yyyy-mm-dd)")
            elif value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
                problems.append(
                    f"{at}{name}: {value} is outside the years {FIRST_YEAR}–{LAST_YEAR}"
                )
        if len(problems) > before:  # the dates compared below may be out of range
            continue
        if isinstance(r.period_start, dt.date) and isinstance(r.when, dt.date):
            if r.when > r.period_start:
                problems.append(
                    f"{at}as_of: {r.when} is after period_start {r.period_start}: a quote uses "
                    "only what is known before the period starts"
                )
            elif (r.period_start - r.when).days > lead:
                problems.append(
                    f"{at}period_start: {r.period_start} is more than {lead} days after as_of "
                    f"{r.when}"
                )
    if problems:
        raise QuoteError(problems)


@lru_cache(maxsize=64)
def _surcharges(policy: str) -> bool:
    """Whether entries under a listing policy carry the insurance surcharge measure."""
    try:
        find_policy(policy).measure(SURCHARGE_DOMAIN)
    except PolicyError:
        return False
    return True


def quote(
    session: Session | None,
    quoter: Quoter,
    requests: Sequence[QuoteRequest],
    *,
    history: History | None = None,
    books: Books | None = None,
    listings: Listings | None = None,
) -> list[Quote]:
    """One quote per request, in order; requests sharing an as-of date and period start are
    scored and priced together. Raises :class:`QuoteError` or :class:`UnknownEnterprise`.
    Without a session (a Spark executor), ``history`` and ``listings`` must be given."""
    check(quoter.tariff, requests)
    if session is None and (history is None or listings is None):
        raise ValueError("quote without a session needs the history and the listings")
    codes = {r.uscc for r in requests}

    @cache
    def read(tables: tuple[str, ...] | None) -> History:  # once, and only when a group needs it
        if history is not None:
            return history
        assert session is not None
        return read_history(session, usccs=codes, tables=tables)

    @cache
    def known(as_of: dt.date) -> Records:  # for days without a current book: once per day
        return Records.known(read(RECORD_TABLES), as_of)

    def full() -> History:  # every table: when some score is not in a book
        return read(None)

    groups: dict[tuple[dt.date, dt.date], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault((r.when, r.period_start), []).append(i)
    out: list[Quote | None] = [None] * len(requests)
    for (as_of, start), rows in groups.items():
        for i, q in zip(
            rows,
            _group(session, quoter, known, full, listings, as_of, start, rows, requests, books),
            strict=True,
        ):
            out[i] = q
    return [q for q in out if q is not None]


def quote_one(session: Session, quoter: Quoter, request: QuoteRequest) -> Quote:
    return quote(session, quoter, [request])[0]


def _group(
    session: Session | None,
    quoter: Quoter,
    known: Callable[[dt.date], Records],
    full: Callable[[], History],
    listings: Listings | None,
    as_of: dt.date,
    start: dt.date,
    rows: list[int],
    requests: Sequence[QuoteRequest],
    books: Books | None,
) -> list[Quote]:
    tariff = quoter.tariff
    asked = [requests[i] for i in rows]
    codes = list(dict.fromkeys(r.uscc for r in asked))
    book = None
    if books is not None and session is not None:
        book = books.current(session, quoter.scorer, as_of)
    on_the_day = book.records if book is not None else known(as_of)
    records = on_the_day.columns(codes, period_start=start, rule=tariff.factors.accident_experience)
    where = {u: i for i, u in enumerate(records["uscc"])}
    unknown = [u for u in codes if u not in where]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise UnknownEnterprise(f"uscc: not a known enterprise as of {as_of}: {shown}", unknown)
    batch = None
    if book is not None and books is not None and session is not None:
        batch = books.take(book, session, codes)
    if batch is None:
        batch = score_batch(
            session, quoter.scorer, as_of=as_of, usccs=codes, history=full(), listings=listings
        )
    at = {u: i for i, u in enumerate(batch.usccs)}
    surcharged = {
        u: [x for x in items if _surcharges(x.policy)] for u, items in batch.listings.items()
    }
    record = np.fromiter((where[r.uscc] for r in asked), np.int64, len(asked))
    relative = _relative(batch)
    columns: dict[str, Any] = {
        "uscc": [r.uscc for r in asked],
        "headcount_source": [
            "request" if r.headcount is not None else "enterprise record" for r in asked
        ],
        "headcount": [
            r.headcount if r.headcount is not None else int(records["employees"][where[r.uscc]])
            for r in asked
        ],
        "insured_amount_cny": [float(r.insured_amount_cny) for r in asked],
        "probability": [float(batch.scored.probability[at[r.uscc]]) for r in asked],
        "conduct_risk": [float(relative[at[r.uscc]]) for r in asked],
        "honours": [r.honours for r in asked],
        "listed": [bool(surcharged.get(r.uscc)) for r in asked],
        "listing_rules": [_rules(surcharged.get(r.uscc, [])) for r in asked],
        "previous_rate": [
            float("nan") if r.previous_rate is None else float(r.previous_rate) for r in asked
        ],
        **{k: np.asarray(v)[record] for k, v in records.items() if k != "uscc"},
    }
    inputs = {k: _native(v) for k, v in columns.items()}
    priced = {k: _native(v) for k, v in price_columns(tariff, columns).items()}
    end = period_end(start)
    # the decision's grade and score, overrides applied: what every other surface shows
    final_grade, _ = final_grades(quoter.scorer, batch)
    final_score = final_scores(quoter.scorer, batch, final_grade)
    quotes = []
    for j, r in enumerate(asked):
        row_in = {k: v[j] for k, v in inputs.items()}
        if math.isnan(row_in["standardization_grade"]):
            row_in["standardization_grade"] = ""
        row = {k: v[j] for k, v in priced.items()}
        i = at[r.uscc]
        reasons = [asdict(x) for x in batch.scored.reasons_of(i)]
        priced_factors = factors(tariff, row_in, row)
        for f in priced_factors:
            if f.code == "model_risk":  # the factor points back to the score's reasons
                f.detail["principal_reasons"] = reasons
        quotes.append(
            Quote(
                uscc=r.uscc,
                as_of=as_of,
                period_start=start,
                period_end=end,
                industry=str(row_in["industry"]),
                compulsory=bool(row["compulsory"]),
                headcount=int(row_in["headcount"]),
                headcount_source=str(row_in["headcount_source"]),
                insured_amount_cny=float(row_in["insured_amount_cny"]),
                size_band=str(row["size_band"]),
                unit=tariff.unit,
                base_rate=float(row["base_rate"]),
                factors=priced_factors,
                product=float(row["product"]),
                product_banded=float(row["product_banded"]),
                band=(tariff.band.floor, tariff.band.cap),
                rate_banded=float(row["rate_banded"]),
                rate=float(row["rate"]),
                renewal_capped=bool(row["renewal_capped"]),
                previous_rate=r.previous_rate,
                premium_cny=float(row["premium_cny"]),
                probability=float(batch.scored.probability[i]),
                score=int(final_score[i]),
                grade=str(final_grade[i]),
                reasons=reasons,
                listings=[x.entry_id for x in batch.listings.get(r.uscc, [])],
                tariff_version=tariff.version,
                tariff_sha256=tariff.sha256,
                model_version=quoter.scorer.loaded.version,
                versions=quoter.versions,
                inputs={
                    "uscc": r.uscc,
                    "as_of": as_of.isoformat(),
                    "period_start": start.isoformat(),
                    "insured_amount_cny": float(r.insured_amount_cny),
                    "headcount": r.headcount,
                    "honours": r.honours,
                    "previous_rate": r.previous_rate,
                },
            )
        )
    return quotes


def period_end(start: dt.date) -> dt.date:
    """The last day of a year's cover from ``start``: the day before the same date a year on
    (a cover from 29 February runs to 27 February, the year on being the 28th)."""
    try:
        on = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        on = start.replace(year=start.year + 1, day=28)
    return on - dt.timedelta(days=1)


def _native(values: Any) -> list[Any]:
    """A column's cells as Python values (as a frame's row would give them)."""
    return np.asarray(values).tolist() if not isinstance(values, list) else values


def _rules(items: list[InForce]) -> str:
    return ", ".join(sorted({f"{x.rule} ({x.policy})" for x in items}))


def frame(quotes: Sequence[Quote]) -> pd.DataFrame:
    """Batch output, one flat row per quote: the rate, each factor's multiplier, the premium,
    the model's first reason and the versions."""
    rows = []
    for q in quotes:
        row: dict[str, Any] = {
            "uscc": q.uscc,
            "as_of": q.as_of,
            "period_start": q.period_start,
            "industry": q.industry,
            "compulsory": q.compulsory,
            "headcount": q.headcount,
            "insured_amount_cny": q.insured_amount_cny,
            "size_band": q.size_band,
            "base_rate": q.base_rate,
        }
        row.update({f"f_{f.code}": f.multiplier for f in q.factors})
        row.update(
            product=q.product,
            product_banded=q.product_banded,
            rate=q.rate,
            renewal_capped=q.renewal_capped,
            premium_cny=q.premium_cny,
            probability=q.probability,
            score=q.score,
            grade=q.grade,
            reason1_en=q.reasons[0]["en"] if q.reasons else "",
            listings=";".join(q.listings),
            tariff_version=q.tariff_version,
            tariff_sha256=q.tariff_sha256,
            model_version=q.model_version,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _relative(batch: Batch) -> np.ndarray:
    """The credit score's relative risk of each scored enterprise (1 where a model scored without
    one: the tariffs that price it need a model that gives it)."""
    risk = batch.scored.relative_risk
    return np.ones(len(batch.usccs)) if risk is None else risk
