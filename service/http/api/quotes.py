"""``POST /v1/premiums/quotes`` and ``/batch``: floating 安全生产责任保险 quotes through
:func:`service.engine.quotes.quote`, each factor with its reason; recorded in the decision
ledger."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from models.tariff import PricingError, Tariff, load_tariff
from models.tariff.policy import HONOURS, MAX_HEADCOUNT, MAX_INSURED_AMOUNT_CNY
from service.engine import ledger
from service.engine.books import Books
from service.engine.decisions import Listings
from service.engine.errors import NotReady, ServiceError
from service.engine.keys import Principal, require_subject
from service.engine.ledger import Row
from service.engine.quote_book import NothingToQuote, quote_book
from service.engine.quotes import QuoteError, Quoter, QuoteRequest, quote
from service.http.api.answers import answered, decided
from service.http.api.deps import BooksDep, LimitsDep, ScorerDep, SessionDep
from service.http.api.inputs import STRICT, Day, Line
from service.http.api.responses import answer_in_thread, answer_recorded, errors
from service.http.auth import allow

router = APIRouter(prefix="/v1/premiums", tags=["premiums"])
ERRORS = errors(404, e404="a code not known as of the quote's date")


class BadQuote(ServiceError):
    status = 422
    kind = "bad_quote"


class QuoteIn(BaseModel):
    model_config = STRICT

    uscc: Line = Field(min_length=18, max_length=18, description="the enterprise's USCC")
    insured_amount_cny: float = Field(
        gt=0,
        le=MAX_INSURED_AMOUNT_CNY,
        description="the death/disability limit per person, CNY: at least the tariff's minimum "
        f"(400,000 by default), at most {MAX_INSURED_AMOUNT_CNY:,.0f}",
    )
    period_start: Day = Field(description="the first day of the policy year")
    as_of: Day | None = Field(
        None, description="what is known on this day prices the quote (the period start)"
    )
    headcount: int | None = Field(
        None,
        ge=1,
        le=MAX_HEADCOUNT,
        description="insured persons (the enterprise record's employees when left out)",
    )
    honours: Literal[HONOURS] = Field(  # type: ignore[valid-type]
        "none", description="the enterprise's safety honours"
    )
    previous_rate: float | None = Field(
        None, gt=0, le=1000, description="last year's rate, ‰, for the renewal cap"
    )


class BatchIn(BaseModel):
    model_config = STRICT

    quotes: list[QuoteIn] = Field(
        min_length=1, max_length=10_000, description="the book, priced together"
    )


class FactorOut(BaseModel):
    code: str = Field(
        description="model_risk, accident_experience, standardization, honours or listing"
    )
    multiplier: float = Field(description="the factor applied to the base rate")
    zh: str = Field(description="the reason in Chinese")
    en: str = Field(description="the reason in English")
    detail: dict[str, Any] = Field(description="what the multiplier was worked out from")


class QuoteOut(BaseModel):
    uscc: str = Field(description="the enterprise's USCC")
    as_of: dt.date = Field(description="what is known on this day prices the quote")
    period_start: dt.date = Field(description="the first day of the policy year")
    period_end: dt.date = Field(description="the last day of the policy year")
    industry: str = Field(description="the enterprise's industry")
    compulsory: bool = Field(
        description="insurance compulsory for this industry under the tariff's scope"
    )
    headcount: int = Field(description="insured persons")
    headcount_source: str = Field(description='"request" or "enterprise record"')
    insured_amount_cny: float = Field(description="death/disability limit per person, CNY")
    size_band: str = Field(description="the tariff's headcount band")
    unit: str = Field(description="the unit of the rates")
    base_rate: float = Field(
        description="‰ of the insured amount per person and year, by industry and size band"
    )
    factors: list[FactorOut] = Field(description="each multiplier with its reason")
    product: float = Field(description="of the factors, before the band")
    product_banded: float = Field(description="the product held within the band")
    band: tuple[float, float] = Field(description="the band's floor and cap on the product")
    rate_banded: float = Field(description="base rate times the banded product (‰)")
    rate: float = Field(description="final, after the renewal cap (‰)")
    renewal_capped: bool = Field(description="true when the renewal cap changed the rate")
    previous_rate: float | None = Field(
        description="last year's rate as given (‰), for the renewal cap"
    )
    premium_cny: float = Field(
        description="insured amount × headcount × rate ÷ 1000, CNY, rounded to 2 decimals"
    )
    probability: float = Field(
        description="P(accident within 12 months), as the model-risk factor prices it"
    )
    score: int = Field(description="the credit score")
    grade: str = Field(
        description="the model's grade; the quote prices the probability, not the grade"
    )
    reasons: list[dict[str, Any]] = Field(
        description="the score's principal reasons, behind the model-risk factor"
    )
    listings: list[str] = Field(description="entry ids in force at as_of")
    tariff_version: str = Field(description="the tariff's version")
    tariff_sha256: str = Field(description="sha256 of the tariff file")
    model_version: str = Field(description="the champion model's version")
    versions: dict[str, str] = Field(
        description="what answered: model, scoring policy, recourse actions, catalogue, tariff"
    )
    inputs: dict[str, Any] = Field(description="the request as priced, as_of filled in")


class QuoteDecision(QuoteOut):
    decision_id: str = Field(description="ledger row that reproduces this answer")


class RefusedOut(BaseModel):
    row: int = Field(description="the refused row's place in the request's quotes, from 1")
    uscc: str = Field(description="the code the row asked about")
    error: str = Field(description="bad_quote (a field is wrong) or not_found (unknown code)")
    detail: str = Field(description="what was wrong, naming the field")


class BatchOut(BaseModel):
    quotes: list[QuoteOut] = Field(
        description="the rows quoted, in the order asked (every row when none was refused)"
    )
    rows: list[int] = Field(description="each quote's row in the request's quotes, from 1")
    refused: list[RefusedOut] = Field(
        description="the rows not quoted, each with its reason; the others are quoted all the same"
    )
    premium_cny: float = Field(description="the quotes' premiums added up, CNY")
    decision_id: str = Field(description="one ledger row for the whole batch (refusals included)")


def load_default_tariff() -> Tariff:
    return load_tariff()


async def get_tariff(request: Request) -> Tariff:
    tariff: Tariff | None = getattr(request.app.state, "tariff", None)
    if tariff is None:
        raise NotReady("no tariff loaded: quotes are not available")
    return tariff


def requests_of(inputs: list[dict[str, Any]]) -> list[QuoteRequest]:
    out = []
    for q in inputs:
        fields = dict(q)
        fields["uscc"] = str(fields["uscc"]).strip().upper()
        for name in ("period_start", "as_of"):
            if isinstance(fields.get(name), str):
                fields[name] = dt.date.fromisoformat(fields[name])
        out.append(QuoteRequest(**fields))
    return out


def quote_outputs(
    session: Session,
    quoter: Quoter,
    inputs: list[dict[str, Any]],
    books: Books | None = None,
    listings: Listings | None = None,
) -> list[Any]:
    """The quotes' outputs (JSON-ready) from the recorded requests: the route (scores from the
    day's book when current) and the replay (recomputed, ``listings`` as then known)."""
    try:
        quotes = quote(session, quoter, requests_of(inputs), books=books, listings=listings)
    except PricingError as exc:
        raise BadQuote(str(exc)) from None
    # from the dataclasses' attributes: asdict() would deep-copy every factor's detail first
    # (160 µs of a quote's 3 ms, against 24)
    valid = (QuoteOut.model_validate(q, from_attributes=True) for q in quotes)
    return [v.model_dump(mode="json") for v in valid]


def _quote_reasons(out: dict[str, Any]) -> list[Any]:
    return [
        {"uscc": o["uscc"], "factor": f["code"], "multiplier": f["multiplier"]}
        for o in out["quotes"]
        for f in o["factors"]
        if f["multiplier"] != 1
    ]


def decide_quotes(
    session: Session,
    quoter: Quoter,
    principal: Principal,
    bodies: list[QuoteIn],
    subject: str | None,
    books: Books,
) -> tuple[list[Any], ledger.Row]:
    inputs = [b.model_dump(mode="json") for b in bodies]
    output, row = decided(
        session,
        kind="quote",
        inputs={"quotes": inputs},
        versions=quoter.versions,
        compute=lambda s: {"quotes": quote_outputs(s, quoter, inputs, books)},
        reasons=_quote_reasons,
        subject=subject,
        key_id=principal.key_id,
    )
    return output["quotes"], row


def record_quotes(
    session: Session,
    quoter: Quoter,
    principal: Principal,
    bodies: list[QuoteIn],
    subject: str | None,
    books: Books,
) -> tuple[list[Any], str]:
    """:func:`decide_quotes`, its decision recorded: the outputs and the ledger row's id once
    it is committed."""
    outputs, row = decide_quotes(session, quoter, principal, bodies, subject, books)
    return outputs, ledger.append(session, row).decision_id


def record_book(
    session: Session,
    quoter: Quoter,
    key_id: str,
    asked: list[dict[str, Any] | None],
    refused_first: dict[int, dict[str, Any]],
    *,
    books: Books | None,
    rows: list[int] | None = None,
) -> dict[str, Any]:
    """Quote a book row by row and record it in one ledger row: the rows quoted (replayed as any
    batch) and the rows refused, each with what it asked. ``asked[i]`` is None for a row already
    refused (``refused_first[i]``: its ``uscc``, ``error``, ``detail``); ``rows`` numbers the rows
    as the caller's reader knows them (from 1 by default). Raises :class:`QuoteError` when no
    row can be quoted. Returns ``quotes``, ``rows``, ``refused``, ``premium_cny`` and
    ``decision_id``."""
    numbers = rows or list(range(1, len(asked) + 1))
    inputs: dict[str, Any] = {}
    placed: dict[str, Any] = {}

    def compute(s: Session) -> dict[str, Any]:
        open_rows = [i for i, a in enumerate(asked) if a is not None]
        try:
            book = quote_book(s, quoter, requests_of([asked[i] for i in open_rows]), books=books)  # type: ignore[misc]
        except PricingError as exc:
            raise BadQuote(str(exc)) from None
        except NothingToQuote as exc:
            details = {i: x["detail"] for i, x in refused_first.items()}
            details.update({open_rows[x.row - 1]: x.detail for x in exc.refused})
            raise QuoteError([f"row {numbers[i]}: {details[i]}" for i in sorted(details)]) from None
        refused = dict(refused_first)
        for x in book.refused:
            i = open_rows[x.row - 1]
            refused[i] = {"uscc": x.uscc, "error": x.error, "detail": x.detail}
        quoted = [open_rows[j] for j, _ in book.quoted]
        inputs["quotes"] = [asked[i] for i in quoted]
        inputs["rows"] = [numbers[i] for i in quoted]
        listed = [{"row": numbers[i], "asked": asked[i], **refused[i]} for i in sorted(refused)]
        inputs["refused"] = listed
        placed["rows"] = [numbers[i] for i in quoted]
        placed["refused"] = [{k: v for k, v in x.items() if k != "asked"} for x in listed]
        valid = (QuoteOut.model_validate(q, from_attributes=True) for _, q in book.quoted)
        return {"quotes": [v.model_dump(mode="json") for v in valid]}

    output, row = answered(
        session,
        kind="quote",
        inputs=inputs,
        versions=quoter.versions,
        compute=compute,
        reasons=_quote_reasons,
        key_id=key_id,
    )
    return {
        "quotes": output["quotes"],
        **placed,
        "premium_cny": round(sum(q["premium_cny"] for q in output["quotes"]), 2),
        "decision_id": row.decision_id,
    }


Quoting = Annotated[Principal, Depends(allow("insurer", "regulator", "enterprise"))]
TariffDep = Annotated[Tariff, Depends(get_tariff)]


@router.post("/quotes", response_model=QuoteDecision, responses=ERRORS)
async def premium_quote(
    body: QuoteIn,
    request: Request,
    session: SessionDep,
    scorer: ScorerDep,
    tariff: TariffDep,
    books: BooksDep,
    principal: Quoting,
) -> Response:
    """One enterprise's premium for a policy year: base rate × floating factors, each with its
    reason, within the tariff's band."""
    uscc = body.uscc.strip().upper()
    require_subject(principal, uscc)
    quoter = Quoter(scorer, tariff)

    def answer() -> tuple[QuoteDecision, Row]:
        outputs, row = decide_quotes(session, quoter, principal, [body], uscc, books)
        return QuoteDecision.model_validate({**outputs[0], "decision_id": row.decision_id}), row

    return await answer_recorded(request, session, answer)


BATCH_ERRORS = errors(
    e422="the body is malformed as a whole (a row of the wrong shape or type), too many rows, "
    "or no row could be quoted (each row's reason named)"
)


@router.post("/quotes/batch", response_model=BatchOut, responses=BATCH_ERRORS)
async def premium_quotes(
    body: BatchIn,
    session: SessionDep,
    scorer: ScorerDep,
    tariff: TariffDep,
    limits: LimitsDep,
    books: BooksDep,
    principal: Annotated[Principal, Depends(allow("insurer", "regulator"))],
) -> Response:
    """A book of quotes at renewal (up to 10,000), priced together; one ledger row. A row that
    cannot be quoted — a value out of the tariff's range (an insured amount below the minimum,
    dates too far apart) or a code not known as of its date — is refused on its own, with its
    reason, in ``refused``; the other rows are quoted. A body malformed as a whole (a row of the
    wrong shape or type) is a 422, and so is a book none of whose rows can be quoted."""
    if len(body.quotes) > limits.max_codes:
        raise BadQuote(f"quotes: at most {limits.max_codes} per batch, got {len(body.quotes)}")
    quoter = Quoter(scorer, tariff)

    def answer() -> BatchOut:
        asked: list[dict[str, Any] | None] = [b.model_dump(mode="json") for b in body.quotes]
        booked = record_book(session, quoter, principal.key_id, asked, {}, books=books)
        return BatchOut.model_validate(booked)

    return await answer_in_thread(answer)
