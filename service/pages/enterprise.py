"""``/enterprises/{uscc}``: the enterprise's page (for itself and for regulators) — score and
grade, a chart of points per reason, recourse, listings with their earliest removal dates; in
Chinese, English with ``?lang=en``. A browser signs in once with its API key (a cookie)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from features.contracts import INDUSTRIES
from features.store import History, read_history
from registry import clock
from registry.errors import RegistryError
from registry.policy import find_policy
from registry.procedure import actions_of
from registry.tables import Action
from service.api.answers import answered, score_output, score_reasons
from service.api.deps import SessionDep, today_of
from service.errors import NotFound
from service.keys import authenticate
from service.pages.chart import chart
from service.pages.texts import Lang, texts

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
CHART_BARS = 8  # bars on the chart: presentation, not policy
PAGE_ROLES = ("enterprise", "regulator")


def _lang(value: str | None) -> Lang:
    return "en" if value == "en" else "zh"


def _message(request: Request, lang: Lang, key: str, status: int) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "message.html", {"t": texts(lang), "lang": lang, "key": key}, status_code=status
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", lang: str | None = None) -> HTMLResponse:
    language = _lang(lang)
    context = {"t": texts(language), "lang": language, "next": _safe(next), "error": False}
    return templates.TemplateResponse(request, "login.html", context)


def _safe(target: str) -> str:
    """Only paths on this site: no open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    language = _lang(form.get("lang"))
    target = _safe(form.get("next", "/"))
    token = form.get("key", "").strip()
    with session.begin():
        principal = authenticate(session, token=token) if token else None
    if principal is None:
        context = {"t": texts(language), "lang": language, "next": target, "error": True}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    if target == "/" and principal.uscc:
        target = f"/enterprises/{principal.uscc}?lang={language}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        request.app.state.limits.cookie_name, token, httponly=True, samesite="strict"
    )
    return response


@router.get("/")
def home() -> Response:
    """The API's documentation; enterprises' pages are at ``/enterprises/{uscc}``."""
    return RedirectResponse("/docs", status_code=307)


@router.get("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(request.app.state.limits.cookie_name)
    return response


@router.get("/enterprises/{uscc}", response_class=HTMLResponse)
def enterprise_page(
    request: Request,
    uscc: str,
    session: SessionDep,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
    as_of: dt.date | None = None,
) -> Response:
    language = _lang(lang)
    uscc = uscc.strip().upper()
    token = _token(request)
    with session.begin():
        principal = authenticate(session, token=token) if token else None
    if principal is None:
        here = quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={here}&lang={language}", status_code=303)
    if principal.role not in PAGE_ROLES or (
        principal.role == "enterprise" and principal.uscc != uscc
    ):
        return _message(request, language, "forbidden", 403)
    scorer = request.app.state.champion.get()
    if scorer is None:
        return _message(request, language, "not_ready", 503)
    inputs = {"uscc": uscc, "as_of": (as_of or today_of(request)).isoformat()}
    day = dt.date.fromisoformat(inputs["as_of"])
    read: dict[str, History] = {}

    def compute(s: Session) -> dict[str, Any]:
        read["history"] = read_history(s, usccs=[uscc])  # once, for the score and the chart
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
        return _message(request, language, "not_found", 404)
    history = read["history"]
    with session.begin():
        records = {
            x["entry_id"]: [
                _record(a, request.app.state.time_zone)
                for a in actions_of(session, entry_id=x["entry_id"])
            ]
            for x in output["listings"]
        }
    enterprise = history.table_at("enterprises", day).set_index("uscc").loc[uscc]
    context = {
        "t": texts(language),
        "lang": language,
        "d": output,
        "decision_id": row.decision_id,
        "enterprise": _enterprise(enterprise, language),
        "chart": chart(scorer, history, uscc, day, language, bars=CHART_BARS),
        "scale": scorer.policy.scale,
        "listings": [
            {**_listing(x, language), "records": records[x["entry_id"]]} for x in output["listings"]
        ],
        "other_lang": "en" if language == "zh" else "zh",
        "query_as_of": as_of.isoformat() if as_of else "",
    }
    return templates.TemplateResponse(request, "enterprise.html", context)


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    cookie: str | None = request.cookies.get(request.app.state.limits.cookie_name)
    return cookie


def _enterprise(row: Any, lang: Lang) -> dict[str, Any]:
    industry = str(row["industry"])
    zh = INDUSTRIES.get(industry, (industry, False))[0]
    return {
        "name": row["name"],
        "industry": zh if lang == "zh" else industry.replace("_", " "),
        "region": row["region_code"],
        "employees": int(row["employees"]),
    }


def _record(action: Action, time_zone: str) -> dict[str, str]:
    """One step of a listing as the page shows it: the day it took effect and when the registry
    recorded it (in the registry's time zone)."""
    at = action.recorded_at
    at = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(clock.zone(time_zone))
    return {
        "action": action.action,
        "on": action.acted_on.isoformat(),
        "recorded_at": f"{at:%Y-%m-%d %H:%M}",
    }


def _listing(item: dict[str, Any], lang: Lang) -> dict[str, Any]:
    try:
        policy = find_policy(item["policy"])
        title = next((r.title for r in policy.rules if r.code == item["rule"]), item["rule"])
        list_name = policy.name
    except RegistryError:
        title, list_name = item["rule"], item["list_type"]
    repair, expiry = item["earliest_repair_on"], item["term_ends_on"]
    automatic = expiry if item["automatic_removal"] else None
    earliest = min(d for d in (repair, automatic) if d) if (repair or automatic) else None
    how = "by_repair" if earliest and earliest == repair else "at_expiry" if earliest else ""
    return {**item, "rule_title": title, "list_name": list_name, "earliest": earliest, "how": how}
