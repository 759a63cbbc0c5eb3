"""Who may do what: ``Authorization: Bearer <key>`` (or, for reading, the page's sign-in cookie)
→ a :class:`~service.engine.keys.Principal`; routes name the roles they admit, and an enterprise key
sees its own USCC only."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.engine.errors import Forbidden, ServiceError
from service.engine.keys import Principal, is_live, key_of, principal_of, record_use
from service.http.api.deps import SessionDep
from service.http.signins import signed_in

bearer = HTTPBearer(auto_error=False, description="an API key: `safecredit keys create`")


class Unauthorized(ServiceError):
    status = 401
    kind = "unauthorized"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Credential = tuple[Literal["key", "session"], str]


def credential_of(request: Request) -> Credential | None:
    """A bearer key, or else the page's sign-in cookie (a session id, never a key)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "key", value.strip()
    session_id = request.cookies.get(request.app.state.limits.cookie_name)
    return ("session", session_id) if session_id else None


class Principals:
    """Keys and sign-ins recently authenticated, for ``seconds``: a key revoked (or a session
    ended) through this process is forgotten at once; one revoked elsewhere (the CLI, another
    worker) stops working within ``seconds``. Unknown credentials are never remembered. It also
    decides when a key's last use is written: at most once every ``touch_seconds`` per key."""

    def __init__(self, seconds: float, *, most: int = 10_000, touch_seconds: float = 60.0) -> None:
        self.seconds, self.most, self.touch_seconds = seconds, most, touch_seconds
        self._known: dict[str, tuple[Principal, float]] = {}
        self._touched: dict[str, float] = {}
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

    def forget_token(self, token: str) -> None:
        with self._lock:
            self._known.pop(token, None)

    def due(self, key_id: str) -> bool:
        """Whether this key's last use should be written now (and, if so, it counts as done)."""
        now = time.monotonic()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < self.touch_seconds:
                return False
            if len(self._touched) >= self.most:
                self._touched.clear()
            self._touched[key_id] = now
            return True


def resolve(request: Request, session: Session, credential: Credential) -> Principal | None:
    """The principal of a live key or sign-in (from this process's memory when recent), its
    key's last use recorded at most once a minute. Opens its own transaction."""
    kind, token = credential
    known: Principals = request.app.state.principals
    remembered = f"{kind}:{token}"
    principal = known.get(remembered)
    if principal is not None:
        return principal
    now = dt.datetime.now(dt.UTC)
    with session.begin():
        if kind == "key":
            row = key_of(session, token=token)
            found = (principal_of(row), row) if row is not None and is_live(row, now) else None
        else:
            found = signed_in(session, session_id=token, now=now)
        if found is None:
            return None
        principal, _ = found
    if known.due(principal.key_id):
        with session.begin():
            record_use(session, key_id=principal.key_id, now=now)
    known.put(remembered, principal)
    return principal


async def get_principal(
    request: Request,
    session: SessionDep,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    credential = credential_of(request)
    if credential is None:
        raise Unauthorized("no API key: send 'Authorization: Bearer <key>'")
    if credential[0] == "session" and request.method not in SAFE_METHODS:
        # the page's cookie reads; changes need the key itself (no cross-site request forgery)
        raise Forbidden("the page's sign-in only reads: send 'Authorization: Bearer <key>'")
    # a principal remembered answers on the event loop; only a new one costs a thread hop
    principal = request.app.state.principals.get(f"{credential[0]}:{credential[1]}")
    if principal is None:
        principal = await run_in_threadpool(resolve, request, session, credential)
    if principal is None:
        what = "API key" if credential[0] == "key" else "sign-in"
        raise Unauthorized(f"the {what} is unknown, revoked or expired")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def allow(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting ``roles`` only (403 naming the role otherwise)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"a {principal.role} key may not do this; allowed: {', '.join(roles)}")
        return principal

    return dependency
