"""``/enterprises/{uscc}``: the enterprise's page (for itself and for regulators) — score and
grade, a chart of points per reason, recourse, listings with their earliest removal dates; in
Chinese, English with ``?lang=en``. A browser signs in once with its API key and keeps a session
id in its cookie (never the key); sign-in and sign-out are forms checked against cross-site
posting (see :mod:`service.pages.forms`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
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
from service.auth import credential_of, resolve
from service.errors import NotFound
from service.keys import Principal, authenticate
from service.pages import forms
from service.pages.chart import chart
from service.pages.texts import Lang, texts
from service.pages.visible import visible
from service.signins import close_session, open_session

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.finalize = visible  # every value shown: hidden characters escaped
templates.env.filters["visible"] = visible
CHART_BARS = 8  # bars on the chart: presentation, not policy
PAGE_ROLES = ("enterprise", "regulator")


def _lang(value: str | None) -> Lang:
    return "en" if value == "en" else "zh"


def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A page with the form token its forms carry (the pre-session cookie, set if new)."""
    token, new = forms.csrf_token(request)
    response = templates.TemplateResponse(
        request, name, {**context, "csrf": token}, status_code=status
    )
    if new:
        forms.give_csrf(request, response, token)
    return response


def _message(request: Request, lang: Lang, key: str, status: int) -> HTMLResponse:
    return _render(request, "message.html", {"t": texts(lang), "lang": lang, "key": key}, status)


def _login_page(request: Request, lang: Lang, target: str, *, status: int = 200) -> HTMLResponse:
    context = {"t": texts(lang), "lang": lang, "next": target, "error": status == 401}
    return _render(request, "login.html", context, status)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", lang: str | None = None) -> HTMLResponse:
    return _login_page(request, _lang(lang), _safe(next))


def _safe(target: str) -> str:
    """Only paths on this site: no open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep) -> Response:
    """Sign in with an API key: a new session whose id (never the key) goes in the cookie."""
    form = await _form(request)
    language = _lang(form.get("lang"))
    if forms.refusal(request, form) is not None:
        return _message(request, language, "refused_form", 403)
    target = _safe(form.get("next", "/"))
    token = form.get("key", "").strip()
    limits = request.app.state.limits
    lifetime = dt.timedelta(minutes=limits.session_minutes)
    previous = request.cookies.get(limits.cookie_name)
    opened = await run_in_threadpool(_sign_in, session, token, lifetime, previous)
    if opened is None:
        return _login_page(request, language, target, status=401)
    principal, session_id = opened
    if previous:
        request.app.state.principals.forget_token(f"session:{previous}")
    if target == "/" and principal.uscc:
        target = f"/enterprises/{principal.uscc}?lang={language}"
    response = RedirectResponse(target, status_code=303)
    max_age = int(lifetime.total_seconds())
    forms.set_cookie(request, response, limits.cookie_name, session_id, max_age=max_age)
    forms.give_csrf(request, response, forms.csrf_token_new())  # a new token once signed in
    return response


def _sign_in(
    session: Session, token: str, lifetime: dt.timedelta, previous: str | None
) -> tuple[Principal, str] | None:
    with session.begin():
        principal = authenticate(session, token=token, used=True) if token else None
        if principal is None:
            return None
        if previous:
            close_session(session, session_id=previous)
        _, session_id = open_session(session, key_id=principal.key_id, lifetime=lifetime)
    return principal, session_id


@router.get("/")
def home() -> Response:
    """The API's documentation; enterprises' pages are at ``/enterprises/{uscc}``."""
    return RedirectResponse("/docs", status_code=307)


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    """Sign out: the session is ended on the server (its cookie is worthless from now on)."""
    form = await _form(request)
    language = _lang(form.get("lang"))
    if forms.refusal(request, form) is not None:
        return _message(request, language, "refused_form", 403)
    limits = request.app.state.limits
    session_id = request.cookies.get(limits.cookie_name)
    if session_id:
        await run_in_threadpool(_sign_out, session, session_id)
        request.app.state.principals.forget_token(f"session:{session_id}")
    response = RedirectResponse(f"/login?lang={language}", status_code=303)
    forms.delete_cookie(request, response, limits.cookie_name)
    return response


def _sign_out(session: Session, session_id: str) -> None:
    with session.begin():
        close_session(session, session_id=session_id)


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
    credential = credential_of(request)
    principal = resolve(request, session, credential) if credential else None
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
                if a.acted_on <= day  # the record as it stood on the day shown
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
    return _render(request, "enterprise.html", context)


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
