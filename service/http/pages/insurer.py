"""``/quotes``: the insurer desk. Upload a renewal book (CSV or XLSX) and download the quotes
with their full trail in both languages and the totals; the rows that cannot be quoted are
listed with their reasons and the others are quoted all the same. ``/quotes/worksheet``: one
enterprise's rating worksheet, as an actuary files it (printable). Quotes go through the API's
own path (:func:`service.http.api.quotes.record_book`, the single quote's) into the decision ledger;
the download is read back from that ledger row."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from models.tariff import HONOURS, Tariff
from service.engine import ledger
from service.engine.errors import ServiceError
from service.engine.keys import Principal
from service.engine.quote_book import limit_applied
from service.engine.quotes import QuoteError, Quoter
from service.http.api.deps import SessionDep
from service.http.api.quotes import QuoteIn, record_book, record_quotes
from service.http.pages import forms
from service.http.pages.book_rows import COLUMNS, Defaults, read_rows
from service.http.pages.checks import DOWNLOADS
from service.http.pages.desk import lang_of, message, render, signed_in
from service.http.pages.quotes_table import accident_ids, book_frame
from service.http.pages.sheets import UploadError, form_date, read_table
from service.http.pages.texts import Lang

router = APIRouter(include_in_schema=False)
ROLE = "insurer"


def _renewal(tariff: Tariff) -> tuple[float | None, float | None]:
    r = tariff.renewal
    return (None, None) if r is None else (r.max_increase, r.max_decrease)


def _quoter(request: Request) -> Quoter | None:
    scorer = request.app.state.champion.get()
    tariff = getattr(request.app.state, "tariff", None)
    return None if scorer is None or tariff is None else Quoter(scorer, tariff)


def _context(lang: Lang, tariff: Tariff | None, **extra: Any) -> dict[str, Any]:
    minimum = tariff.insurance.min_insured_amount_cny if tariff is not None else None
    return {"lang": lang, "honours": HONOURS, "minimum": minimum, **extra}


@router.get("/quotes")
def quotes_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
) -> Response:
    language = lang_of(lang)
    principal = signed_in(request, session, ROLE, language)
    if not isinstance(principal, Principal):
        return principal
    return render(
        request, "quotes.html", _context(language, getattr(request.app.state, "tariff", None))
    )


@router.post("/quotes")
async def quotes_posted(request: Request, session: SessionDep) -> Response:
    """Quote an uploaded renewal book; the desk's fields are the defaults of empty cells."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("file")
    language = lang_of(fields.get("lang"))
    if forms.refusal(request, fields) is not None:
        return message(request, language, "refused_form", 403)
    principal = signed_in(request, session, ROLE, language)
    if not isinstance(principal, Principal):
        return principal
    quoter = _quoter(request)
    if quoter is None:
        return message(request, language, "not_ready", 503)
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise UploadError(["file: choose a CSV or XLSX renewal book"])
        start = form_date("period_start", fields.get("period_start", "").strip(), True)
        assert start is not None
        amount_text = fields.get("insured_amount_cny", "").strip().replace(",", "")
        try:
            amount = (
                float(amount_text)
                if amount_text
                else quoter.tariff.insurance.min_insured_amount_cny
            )
        except ValueError:
            raise UploadError([f"insured_amount_cny: {amount_text!r} is not a number"]) from None
        honours = fields.get("honours", "none")
        if honours not in HONOURS:
            raise UploadError([f"honours: {honours!r} is not one of {', '.join(HONOURS)}"])
        defaults = Defaults(
            start, amount, honours, form_date("as_of", fields.get("as_of", "").strip(), False)
        )
        table = read_table(
            upload.filename,
            await upload.read(),
            required=("uscc",),
            known=COLUMNS,
            max_rows=request.app.state.limits.max_codes,
        )
        if not table.rows:
            raise UploadError([f"{table.name}: no rows under the header"])
        rows = read_rows(table, defaults)
        booked = await run_in_threadpool(
            record_book,
            session,
            quoter,
            principal.key_id,
            rows.asked,
            rows.refused,
            books=request.app.state.books,
            rows=rows.numbers,
        )
    except UploadError as exc:
        return message(request, language, "bad_upload", 422, str(exc))
    except QuoteError as exc:
        return message(request, language, "bad_upload", 422, "\n".join(exc.problems))
    except ServiceError as exc:
        return message(request, language, "bad_request", exc.status, str(exc))
    renewal = _renewal(quoter.tariff)
    shown = [
        {**q, "row": n, "limit": limit_applied(q, *renewal), "accident_ids": accident_ids(q)}
        for n, q in zip(booked["rows"], booked["quotes"], strict=True)
    ]
    context = _context(
        language,
        quoter.tariff,
        booked=booked,
        shown=shown,
        headcount=sum(q["headcount"] for q in booked["quotes"]),
        file_name=table.name,
    )
    return render(request, "quotes.html", context)


@router.get("/quotes/books/{decision_id}.{suffix}")
def quotes_download(
    request: Request,
    session: SessionDep,
    decision_id: str,
    suffix: str,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
) -> Response:
    """A book this key quoted, as the ledger recorded it: CSV (with a byte-order mark) or XLSX."""
    language = lang_of(lang)
    principal = signed_in(request, session, ROLE, language)
    if not isinstance(principal, Principal):
        return principal
    if suffix not in DOWNLOADS:
        return message(request, language, "bad_request", 404, f"{suffix!r}: csv or xlsx")
    with session.begin():
        row = ledger.get(session, decision_id=decision_id)
        mine = row is not None and row.kind == "quote" and row.key_id == principal.key_id
        found = (row.output, row.inputs) if row is not None and mine else None
    if found is None:
        return message(request, language, "no_decision", 404)
    output, inputs = found
    rows = inputs.get("rows") or list(range(1, len(output["quotes"]) + 1))
    tariff = getattr(request.app.state, "tariff", None)
    renewal = _renewal(tariff) if tariff is not None else (None, None)
    frame = book_frame(output, inputs.get("refused", []), rows, decision_id, renewal)
    from features.files import write_table

    with tempfile.TemporaryDirectory() as folder:
        body = write_table(frame, Path(folder) / f"book.{suffix}").read_bytes()
    return Response(
        body,
        media_type=DOWNLOADS[suffix],
        headers={"content-disposition": f'attachment; filename="quotes-{decision_id}.{suffix}"'},
    )


@router.get("/quotes/worksheet")
def worksheet(
    request: Request,
    session: SessionDep,
    uscc: Annotated[str, Query(max_length=40)],
    period_start: Annotated[str, Query(max_length=10)],
    insured_amount_cny: Annotated[str, Query(max_length=20)] = "",
    headcount: Annotated[str, Query(max_length=10)] = "",
    previous_rate: Annotated[str, Query(max_length=20)] = "",
    honours: Annotated[str, Query(max_length=10)] = "none",
    as_of: Annotated[str, Query(max_length=10)] = "",
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
) -> Response:
    """One enterprise's rating worksheet: expected against actual, credibility, each factor, the
    band and the renewal cap, the premium; recorded in the ledger like the API's quote."""
    language = lang_of(lang)
    principal = signed_in(request, session, ROLE, language)
    if not isinstance(principal, Principal):
        return principal
    quoter = _quoter(request)
    if quoter is None:
        return message(request, language, "not_ready", 503)
    asked: dict[str, Any] = {
        "uscc": uscc.strip().upper(),
        "period_start": period_start,
        "insured_amount_cny": _float(insured_amount_cny)
        if insured_amount_cny.strip()
        else quoter.tariff.insurance.min_insured_amount_cny,
        "honours": honours,
    }
    if headcount.strip():
        asked["headcount"] = _float(headcount)
    if previous_rate.strip():
        asked["previous_rate"] = _float(previous_rate)
    if as_of.strip():
        asked["as_of"] = as_of
    try:
        body = QuoteIn.model_validate(asked)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return message(request, language, "bad_request", 422, problems)
    try:
        outputs, decision_id = record_quotes(
            session, quoter, principal, [body], body.uscc.upper(), request.app.state.books
        )
    except QuoteError as exc:
        return message(request, language, "bad_request", 422, "\n".join(exc.problems))
    except ServiceError as exc:
        return message(request, language, "bad_request", exc.status, str(exc))
    q = outputs[0]
    risk = next((f for f in q["factors"] if f["code"] == "model_risk"), None)
    context = _context(
        language,
        quoter.tariff,
        q=q,
        risk=risk,
        limit=limit_applied(q, *_renewal(quoter.tariff)),
        accident_ids=accident_ids(q),
        decision_id=decision_id,
        switch={
            other: urlencode(
                [*((k, v) for k, v in request.query_params.items() if k != "lang"), ("lang", other)]
            )
            for other in ("zh", "en")
        },
    )
    return render(request, "worksheet.html", context)


def _float(text: str) -> float | str:
    """A number typed in a form, or the text as typed (refused, by name, when validated)."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return text
