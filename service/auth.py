"""Who may do what: ``Authorization: Bearer <key>`` (or the page's cookie) → a
:class:`~service.keys.Principal`; routes name the roles they admit, and an enterprise key sees
its own USCC only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.deps import SessionDep
from service.errors import ServiceError
from service.keys import Principal, authenticate

bearer = HTTPBearer(auto_error=False, description="an API key: `safecredit keys create`")


class Unauthorized(ServiceError):
    status = 401
    kind = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    kind = "forbidden"


def token_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(request.app.state.limits.cookie_name)


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = token_of(request, credentials)
    if not token:
        raise Unauthorized("no API key: send 'Authorization: Bearer <key>'")
    with session.begin():
        principal = authenticate(session, token=token)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def allow(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting ``roles`` only (403 naming the role otherwise)."""

    def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"a {principal.role} key may not do this; allowed: {', '.join(roles)}")
        return principal

    return dependency


def require_subject(principal: Principal, uscc: str) -> None:
    """An enterprise key sees its own USCC and nothing about any other enterprise."""
    if principal.role == "enterprise" and principal.uscc != uscc:
        raise Forbidden("an enterprise key may only see its own enterprise")
