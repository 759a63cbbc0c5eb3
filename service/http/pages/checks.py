"""``/checks``: the approval-office desk. Find an enterprise by name (starting with, or
containing, the words typed), check one code, or upload a CSV or XLSX of codes (with an optional
reference column) and download the answers as CSV or XLSX. Every check goes through the API's
own composition (:func:`service.http.api.checking.check_codes`) and is recorded in the decision
ledger; the download is read back from that ledger row, so the file is what was recorded."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from registry.check import STATUSES
from registry.policy import DOMAINS
from service.engine import ledger
from service.engine.errors import ServiceError
from service.engine.keys import Principal
from service.engine.lookup import MODES, BadLookup, Mode, find_by_name
from service.http.api.checking import check_codes
from service.http.api.deps import SessionDep, today_of
from service.http.pages import forms
from service.http.pages.checks_table import results_frame
from service.http.pages.desk import lang_of, message, render, signed_in
from service.http.pages.sheets import UploadError, form_date, read_table
from service.http.pages.texts import Lang

router = APIRouter(include_in_schema=False)
ROLE = "approval_office"
DESK_DOMAINS = tuple(d for d in DOMAINS if d not in ("insurance_surcharge", "inspection_frequency"))
LOOKUP_LIMIT = 50  # candidates shown: presentation
DOWNLOADS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def _context(lang: Lang, **extra: Any) -> dict[str, Any]:
    return {"lang": lang, "domains": DESK_DOMAINS, "modes": MODES, **extra}


@router.get("/checks")
def checks_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    mode: Annotated[str, Query(pattern="^(prefix|contains)$")] = "prefix",
    domain: Annotated[str, Query(max_length=40)] = DESK_DOMAINS[0],
) -> Response:
    """The desk; with ``q``, the enterprises whose name starts with (or contains) it."""
    language = lang_of(lang)
    principal = signed_in(request, session, ROLE, language)
    if not isinstance(principal, Principal):
        return principal
    found, problem = None, None
    if q:
        try:
            with session.begin():
                found = find_by_name(
                    session,
                    text=q,
                    mode=cast(Mode, mode),  # the query's pattern admits the modes only
                    as_of=today_of(request),
                    limit=LOOKUP_LIMIT + 1,
                )
        except BadLookup as exc:
            problem = str(exc)
    context = _context(
        language,
        q=q or "",
        mode=mode,
        domain=domain if domain in DESK_DOMAINS else DESK_DOMAINS[0],
        found=None if found is None else found[:LOOKUP_LIMIT],
        more=found is not None and len(found) > LOOKUP_LIMIT,
        limit=LOOKUP_LIMIT,
        problem=problem,
    )
    return render(request, "checks.html", context)


async def _posted(request: Request) -> tuple[dict[str, str], Any]:
    """The form's text fields and its file (or None)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("file")
    return fields, (None if upload is None or isinstance(upload, str) else upload)


@router.post("/checks")
async def checks_posted(request: Request, session: SessionDep) -> Response:
    """Check one code (``uscc``) or an uploaded file (``file``) in ``domain`` on ``as_of``."""
    fields, upload = await _posted(request)
    language = lang_of(fields.get("lang"))
    if forms.refusal(request, fields) is not None:
        return message(request, language, "refused_form", 403)
    principal = signed_in(request, session, ROLE, language)
    if not isinstance(principal, Principal):
        return principal
    domain = fields.get("domain", "")
    try:
        if domain not in DESK_DOMAINS:
            raise UploadError([f"domain: {domain!r} is not one of {', '.join(DESK_DOMAINS)}"])
        as_of = form_date("as_of", fields.get("as_of", "").strip())
        if upload is not None and upload.filename:
            limits = request.app.state.limits
            table = read_table(
                upload.filename,
                await upload.read(),
                required=("uscc",),
                known=("uscc", "ref"),
                max_rows=limits.max_codes,
            )
            empty = [table.line(i) for i, r in enumerate(table.rows) if not r["uscc"]]
            if empty:
                shown = ", ".join(map(str, empty[:10])) + (" …" if len(empty) > 10 else "")
                raise UploadError([f"{table.name}: rows {shown}, column uscc: empty"])
            if not table.rows:
                raise UploadError([f"{table.name}: no rows under the header"])
            codes = [r["uscc"] for r in table.rows]
            refs = [r.get("ref") or None for r in table.rows] if "ref" in table.columns else None
        else:
            code = fields.get("uscc", "").strip()
            if not code:
                raise UploadError(["uscc: type a code, or choose a file"])
            codes, refs = [code], None
        output, decision_id = await run_in_threadpool(
            check_codes,
            request,
            session,
            principal,
            codes=codes,
            refs=refs,
            domain=domain,
            as_of=as_of,
            known_at=None,
        )
    except UploadError as exc:
        uploaded = upload is not None and bool(upload.filename)
        return message(
            request, language, "bad_upload" if uploaded else "bad_request", 422, str(exc)
        )
    except ServiceError as exc:
        return message(request, language, "bad_request", exc.status, str(exc))
    results = output["results"]
    counts = {s: sum(r["status"] == s for r in results) for s in STATUSES}
    context = _context(
        language,
        q="",
        mode="prefix",
        domain=domain,
        found=None,
        more=False,
        limit=LOOKUP_LIMIT,
        problem=None,
        output=output,
        counts=counts,
        decision_id=decision_id,
        with_refs=refs is not None,
    )
    return render(request, "checks.html", context)


@router.get("/checks/results/{decision_id}.{suffix}")
def checks_download(
    request: Request,
    session: SessionDep,
    decision_id: str,
    suffix: str,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
) -> Response:
    """The answers of a check this key asked, as recorded in the ledger: CSV (with a byte-order
    mark, for Excel) or XLSX."""
    language = lang_of(lang)
    principal = signed_in(request, session, ROLE, language)
    if not isinstance(principal, Principal):
        return principal
    if suffix not in DOWNLOADS:
        return message(request, language, "bad_request", 404, f"{suffix!r}: csv or xlsx")
    with session.begin():
        row = ledger.get(session, decision_id=decision_id)
        mine = row is not None and row.kind == "check" and row.key_id == principal.key_id
        output = row.output if row is not None and mine else None
    if output is None:
        return message(request, language, "no_decision", 404)
    body = _file(results_frame(output, decision_id), suffix)
    name = f"checks-{decision_id}.{suffix}"
    return Response(
        body,
        media_type=DOWNLOADS[suffix],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _file(frame: Any, suffix: str) -> bytes:
    from features.files import write_table

    with tempfile.TemporaryDirectory() as folder:
        return write_table(frame, Path(folder) / f"results.{suffix}").read_bytes()
