"""Who may do what: ``Authorization: Bearer <key>`` (or the page's cookie) → a
:class:`~service.keys.Principal`; routes name the roles they admit, and an enterprise key sees
its own USCC only."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

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


class Principals:
    """Keys recently authenticated, for ``seconds``: a key revoked through this process's API is
    forgotten at once; one revoked elsewhere (the CLI, another worker) stops working within
    ``seconds``. Unknown keys are never remembered."""

    def __init__(self, seconds: float, *, most: int = 10_000) -> None:
        self.seconds, self.most = seconds, most
        self._known: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        found = self._known.get(token)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, token: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._known) >= self.most:
                self._known.clear()
            self._known[token] = (principal, time.monotonic() + self.seconds)

    def forget(self, key_id: str) -> None:
        with self._lock:
            for token in [t for t, (p, _) in self._known.items() if p.key_id == key_id]:
                del self._known[token]


async def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = token_of(request, credentials)
    if not token:
        raise Unauthorized("no API key: send 'Authorization: Bearer <key>'")
    known: Principals = request.app.state.principals
    principal = known.get(token)
    if principal is not None:
        return principal
    principal = await run_in_threadpool(_authenticate, session, token)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    known.put(token, principal)
    return principal


def _authenticate(session: Session, token: str) -> Principal | None:
    with session.begin():
        return authenticate(session, token=token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def allow(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting ``roles`` only (403 naming the role otherwise)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"a {principal.role} key may not do this; allowed: {', '.join(roles)}")
        return principal

    return dependency


def require_subject(principal: Principal, uscc: str) -> None:
    """An enterprise key sees its own USCC and nothing about any other enterprise."""
    if principal.role == "enterprise" and principal.uscc != uscc:
        raise Forbidden("an enterprise key may only see its own enterprise")
