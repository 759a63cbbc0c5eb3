"""``/enterprises/{uscc}``: the enterprise's desk (for itself, and for regulators to read) —
score and grade, a chart of points per reason, the score over the last quarters, recourse,
notices pending with their objection deadline, listings with their repair conditions, its
filings and the forms to file an objection or a repair application (with attachments); and a
printable credit report carrying the score's decision id. Chinese, English with ``?lang=en``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from features.contracts import INDUSTRIES
from features.store import History, read_history
from registry.errors import RegistryError
from registry.policy import find_policy
from registry.procedure import actions_of
from service.engine.errors import NotFound, ServiceError
from service.engine.filings import ENTERPRISE_FILINGS, act_as
from service.engine.keys import Principal
from service.http.api.answers import answered, score_output, score_reasons
from service.http.api.checking import registry_changed
from service.http.api.deps import SessionDep, today_of
from service.http.pages import forms
from service.http.pages.chart import chart
from service.http.pages.entries import enterprise_entries, record
from service.http.pages.refusals import refusal_status, refusal_text
from service.http.pages.render import lang_of, message, render, signed_in_or_login
from service.http.pages.texts import Lang, texts
from service.http.pages.titles import list_name, rule_title
from service.http.pages.trend import trend
from service.http.pages.uploads import FormError, Posted, posted

router = APIRouter(include_in_schema=False)
CHART_BARS = 8  # bars on the chart: presentation, not policy
TREND_QUARTERS = 8  # points on the score's history
PAGE_ROLES = ("enterprise", "regulator")
LangQuery = Annotated[str | None, Query(pattern="^(zh|en)$")]


def _allowed(principal: Principal, uscc: str) -> bool:
    return principal.role in PAGE_ROLES and not (
        principal.role == "enterprise" and principal.uscc != uscc
    )


@router.get("/enterprises/{uscc}", response_class=HTMLResponse)
def enterprise_page(
    request: Request,
    uscc: str,
    session: SessionDep,
    lang: LangQuery = None,
    as_of: dt.date | None = None,
    filed: str | None = None,
) -> Response:
    return _page(request, session, uscc, lang_of(lang), as_of, "enterprise.html", filed=filed)


@router.get("/enterprises/{uscc}/report", response_class=HTMLResponse)
def credit_report(
    request: Request,
    uscc: str,
    session: SessionDep,
    lang: LangQuery = None,
    as_of: dt.date | None = None,
) -> Response:
    """The credit report to print (or save as PDF from the browser): score, grade, reasons,
    listings and notices on the day, the decision id that reproduces it."""
    return _page(request, session, uscc, lang_of(lang), as_of, "report.html")


def _page(
    request: Request,
    session: Session,
    uscc: str,
    language: Lang,
    as_of: dt.date | None,
    template: str,
    *,
    filed: str | None = None,
    refused: str | None = None,
    status: int = 200,
) -> Response:
    uscc = uscc.strip().upper()
    principal = signed_in_or_login(request, session, language)
    if isinstance(principal, RedirectResponse):
        return principal
    if not _allowed(principal, uscc):
        return message(request, language, "forbidden", 403)
    scorer = request.app.state.champion.get()
    if scorer is None:
        return message(request, language, "not_ready", 503)
    today = today_of(request)
    inputs = {"uscc": uscc, "as_of": (as_of or today).isoformat()}
    day = dt.date.fromisoformat(inputs["as_of"])
    read: dict[str, History] = {}

    def compute(s: Session) -> dict[str, Any]:
        read["history"] = read_history(s, usccs=[uscc])  # once, for the score and the charts
        return score_output(s, scorer, inputs, history=read["history"])

    try:
        output, row = answered(
            session,
            kind="score",
            inputs=inputs,
            versions=scorer.versions,
            compute=compute,
            reasons=score_reasons,
            subject=uscc,
            key_id=principal.key_id,
        )
    except NotFound:
        return message(request, language, "not_found", 404)
    history = read["history"]
    zone = request.app.state.time_zone
    with session.begin():
        records = {
            x["entry_id"]: [
                record(a, zone)
                for a in actions_of(session, entry_id=x["entry_id"])
                if a.acted_on <= day  # the record as it stood on the day shown
            ]
            for x in output["listings"]
        }
        desk = enterprise_entries(session, uscc=uscc, day=day, today=today, time_zone=zone)
        quarters = trend(session, scorer, history, uscc, day, quarters=TREND_QUARTERS)
    for item in desk["pending"] + desk["forms"] + [f["entry"] for f in desk["filings"]]:
        item["list_name"] = list_name(item["policy_id"], item["list_name"], language)
        item["rule_title"] = rule_title(item["rule"], item["rule_title"], language)
    enterprise = history.table_at("enterprises", day).set_index("uscc").loc[uscc]
    limits = request.app.state.limits
    context = {
        "t": texts(language),
        "lang": language,
        "d": output,
        "decision_id": row.decision_id,
        "enterprise": _enterprise(enterprise, language),
        "chart": chart(scorer, history, uscc, day, language, bars=CHART_BARS),
        "trend": quarters,
        "scale": scorer.policy.scale,
        "listings": [
            {
                **_listing(x, language),
                "records": records[x["entry_id"]],
                **desk["listed"].get(x["entry_id"], {"conditions": []}),
            }
            for x in output["listings"]
        ],
        "pending": desk["pending"],
        "filings": desk["filings"],
        "forms": desk["forms"] if principal.role == "enterprise" else [],
        "regulator": principal.role == "regulator",
        "today": today.isoformat(),
        "max_upload_mb": f"{limits.attachment_max_bytes / 1024 / 1024:.0f}",
        "filed": filed if filed in ENTERPRISE_FILINGS else None,
        "refused": refused,
        "other_lang": "en" if language == "zh" else "zh",
        "query_as_of": as_of.isoformat() if as_of else "",
    }
    return render(request, template, context, status)


@router.post("/enterprises/{uscc}/filings", response_class=HTMLResponse)
async def file_for_enterprise(request: Request, uscc: str, session: SessionDep) -> Response:
    """An objection or a repair application from the desk's form, with its files: checked
    against cross-site posting, filed as the API files it (dated today by the server); refused
    with the reason on the page, nothing changed."""
    uscc = uscc.strip().upper()
    try:
        form = await posted(request)
    except FormError as exc:
        return await run_in_threadpool(
            _page, request, session, uscc, "zh", None, "enterprise.html",
            refused=refusal_text(exc, "zh"), status=422,
        )  # fmt: skip
    language = lang_of(form.fields.get("lang"))
    if forms.refusal(request, form.fields) is not None:
        return message(request, language, "refused_form", 403)
    return await run_in_threadpool(_file, request, session, uscc, language, form)


def _file(request: Request, session: Session, uscc: str, lang: Lang, form: Posted) -> Response:
    principal = signed_in_or_login(request, session, lang)
    if isinstance(principal, RedirectResponse):
        return principal
    if principal.role != "enterprise" or principal.uscc != uscc:
        return message(request, lang, "forbidden", 403)
    f = form.fields
    details: dict[str, Any] = {}
    if f.get("grounds", "").strip():
        details["grounds"] = f["grounds"].strip()
    if f.get("commitment_signed_on", "").strip():
        details["commitment_signed_on"] = f["commitment_signed_on"].strip()
    try:
        version = int(f["version"]) if f.get("version") else None
    except ValueError:
        version = -1  # not a version the entry ever had: refused as a stale form
    try:
        with session.begin():
            act_as(
                session,
                principal,
                entry_id=f.get("entry_id", ""),
                action=f.get("action", ""),
                reason=f.get("reason", ""),
                today=today_of(request),
                details=details,
                uploads=form.files,
                max_upload_bytes=request.app.state.limits.attachment_max_bytes,
                expected_version=version,
            )
    except (RegistryError, ServiceError) as why:
        return _page(
            request, session, uscc, lang, None, "enterprise.html",
            refused=refusal_text(why, lang), status=refusal_status(why),
        )  # fmt: skip
    registry_changed(request, session)
    action = f.get("action", "")
    return RedirectResponse(
        f"/enterprises/{uscc}?lang={lang}&filed={action}#filings", status_code=303
    )


def _enterprise(row: Any, lang: Lang) -> dict[str, Any]:
    industry = str(row["industry"])
    zh = INDUSTRIES.get(industry, (industry, False))[0]
    return {
        "name": row["name"],
        "industry": zh if lang == "zh" else industry.replace("_", " "),
        "region": row["region_code"],
        "employees": int(row["employees"]),
    }


def _listing(item: dict[str, Any], lang: Lang) -> dict[str, Any]:
    try:
        policy = find_policy(item["policy"])
        title = next((r.title for r in policy.rules if r.code == item["rule"]), item["rule"])
        name, policy_id = policy.name, policy.id
    except RegistryError:
        title, name, policy_id = item["rule"], item["list_type"], ""
    repair, expiry = item["earliest_repair_on"], item["term_ends_on"]
    automatic = expiry if item["automatic_removal"] else None
    earliest = min(d for d in (repair, automatic) if d) if (repair or automatic) else None
    how = "by_repair" if earliest and earliest == repair else "at_expiry" if earliest else ""
    return {
        **item,
        "rule_title": rule_title(item["rule"], title, lang),
        "list_name": list_name(policy_id, name, lang),
        "earliest": earliest,
        "how": how,
    }
