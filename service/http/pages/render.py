"""What every page shares: the templates (every value shown with hidden characters escaped),
the language, the form token, the signed-in principal, and a message page."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from service.engine.keys import Principal
from service.http.auth import credential_of, resolve
from service.http.pages import forms
from service.http.pages.texts import Lang, texts
from service.http.pages.visible import visible

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.finalize = visible  # every value shown: hidden characters escaped
templates.env.filters["visible"] = visible


def lang_of(value: str | None) -> Lang:
    return "en" if value == "en" else "zh"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A page with the form token its forms carry (the pre-session cookie, set if new)."""
    token, new = forms.csrf_token(request)
    response = templates.TemplateResponse(
        request, name, {**context, "csrf": token}, status_code=status
    )
    if new:
        forms.give_csrf(request, response, token)
    return response


def message(request: Request, lang: Lang, key: str, status: int) -> HTMLResponse:
    return render(request, "message.html", {"t": texts(lang), "lang": lang, "key": key}, status)


def signed_in_or_login(
    request: Request, session: Session, lang: Lang
) -> Principal | RedirectResponse:
    """Whom the page is for, or the sign-in form that comes back here afterwards."""
    credential = credential_of(request)
    principal = resolve(request, session, credential) if credential else None
    if principal is None:
        here = quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={here}&lang={lang}", status_code=303)
    return principal
