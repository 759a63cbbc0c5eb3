"""The pages' cookies and forms: every cookie HttpOnly, SameSite=Strict and Secure (unless the
service is reached over plain HTTP on a loopback address and the ``plain_http`` setting allows
it); every form posted from this origin only (``Origin``, else ``Referer``) and carrying the token
of the pre-session cookie (double submit: a page of another site can neither read the cookie
nor send the matching field)."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from service.store.settings import ServiceSettings

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
CSRF_FIELD = "csrf"


def _limits(request: Request) -> ServiceSettings:
    limits: ServiceSettings = request.app.state.limits
    return limits


def secure_cookies(request: Request) -> bool:
    """Secure, unless plain HTTP is allowed and this request came to a loopback address."""
    return not (_limits(request).plain_http and request.url.hostname in LOOPBACK)


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="strict", secure=secure_cookies(request)
    )


def csrf_token(request: Request) -> tuple[str, bool]:
    """The browser's form token and whether it is new (then :func:`give_csrf` must set it)."""
    token = request.cookies.get(_limits(request).csrf_cookie_name)
    if token and 20 <= len(token) <= 100:
        return token, False
    return csrf_token_new(), True


def csrf_token_new() -> str:
    return secrets.token_urlsafe(32)


def give_csrf(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, _limits(request).csrf_cookie_name, token)


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def refusal(request: Request, form: dict[str, str]) -> str | None:
    """Why a posted form is refused (cross-site, or without the page's token), or None."""
    origin = request.headers.get("origin")
    if origin is None:  # an older browser: the Referer's origin stands in
        referer = urlsplit(request.headers.get("referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else None
    allowed = {own_origin(request), *_limits(request).origins}
    if origin is None:
        return "the form came without an Origin"
    if origin not in allowed:
        return f"the form was posted from another site ({origin})"
    cookie = request.cookies.get(_limits(request).csrf_cookie_name, "")
    field = form.get(CSRF_FIELD, "")
    if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
        return "the form's token does not match this browser's: reload the page"
    return None
