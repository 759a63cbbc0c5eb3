"""Sign-in and sign-out of the pages: a browser signs in once with its API key and keeps a
session id in its cookie (never the key); both are forms checked against cross-site posting
(see :mod:`service.http.pages.forms`)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.engine.keys import Principal, authenticate
from service.http.api.deps import SessionDep
from service.http.pages import forms
from service.http.pages.render import lang_of, message, render
from service.http.pages.texts import Lang, texts
from service.http.signins import close_session, open_session

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, lang: Lang, target: str, *, status: int = 200) -> HTMLResponse:
    context = {"t": texts(lang), "lang": lang, "next": target, "error": status == 401}
    return render(request, "login.html", context, status)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", lang: str | None = None) -> HTMLResponse:
    return _login_page(request, lang_of(lang), _safe(next))


def _safe(target: str) -> str:
    """Only paths on this site: no open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep) -> Response:
    """Sign in with an API key: a new session whose id (never the key) goes in the cookie."""
    form = await _form(request)
    language = lang_of(form.get("lang"))
    if forms.refusal(request, form) is not None:
        return message(request, language, "refused_form", 403)
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
    elif target == "/" and principal.role in DESKS:
        target = f"{DESKS[principal.role]}?lang={language}"
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


DESKS = {"regulator": "/registry", "approval_office": "/checks", "insurer": "/quotes"}


@router.get("/")
def home() -> Response:
    """The API's documentation; enterprises' pages are at ``/enterprises/{uscc}``."""
    return RedirectResponse("/docs", status_code=307)


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    """Sign out: the session is ended on the server (its cookie is worthless from now on)."""
    form = await _form(request)
    language = lang_of(form.get("lang"))
    if forms.refusal(request, form) is not None:
        return message(request, language, "refused_form", 403)
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
