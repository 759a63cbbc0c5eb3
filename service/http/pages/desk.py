"""What the desks share: their templates (the enterprise page's base, hidden characters shown
escaped), the language, the signed-in principal of the role a desk serves, and the message page
(a 403 for any other role)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from service.engine.keys import Principal
from service.http.auth import credential_of, resolve
from service.http.pages import forms
from service.http.pages.desk_texts import desk_texts
from service.http.pages.texts import Lang
from service.http.pages.visible import visible

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.finalize = visible  # every value shown: hidden characters escaped
templates.env.filters["visible"] = visible


def lang_of(value: str | None) -> Lang:
    return "en" if value == "en" else "zh"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A desk page with the words of its language and the form token its forms carry."""
    token, new = forms.csrf_token(request)
    lang: Lang = context["lang"]
    full = {"t": desk_texts(lang), "other_lang": "en" if lang == "zh" else "zh", **context}
    response = templates.TemplateResponse(
        request, name, {**full, "csrf": token}, status_code=status
    )
    if new:
        forms.give_csrf(request, response, token)
    return response


def message(
    request: Request, lang: Lang, key: str, status: int, detail: str | None = None
) -> HTMLResponse:
    """The message page: the text of ``key``, and what exactly was wrong (``detail``)."""
    return render(
        request, "desk_message.html", {"lang": lang, "key": key, "detail": detail}, status
    )


def signed_in(request: Request, session: Session, role: str, lang: Lang) -> Principal | Response:
    """The signed-in principal when its role is ``role``; otherwise the sign-in page (no one
    signed in) or a 403 page."""
    credential = credential_of(request)
    principal = resolve(request, session, credential) if credential else None
    if principal is None:
        here = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here)}&lang={lang}", status_code=303)
    if principal.role != role:
        return message(request, lang, f"forbidden_{role}", 403)
    return principal
