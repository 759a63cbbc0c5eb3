"""One webhook POST: signed, to the address :mod:`service.engine.notify.targets` checked (the URL is
checked again first), no redirect followed, a bounded time; its outcome, never an exception."""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from registry import clock
from service.engine.notify.errors import NotifyInputError
from service.engine.notify.signing import (
    ATTEMPT_HEADER,
    DELIVERY_HEADER,
    EVENT_HEADER,
    HEADER,
    signature,
)
from service.engine.notify.targets import Target, resolve

USER_AGENT = "safecredit-notify/1"


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    event_id: int
    subscription_id: str
    url: str
    secret: str
    attempts: int  # before this one, since it was made or replayed
    lease: str
    body: bytes
    made: int = 0  # attempts ever made of it (replays included)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None  # None: delivered
    milliseconds: int
    started_at: dt.datetime


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the checked address, the certificate checked against the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(raw, server_hostname=self.host)


def post(c: Claimed, *, allowed: Sequence[str], timeout: float) -> Outcome:
    """POST the delivery, signed, to its URL's checked address; never raises."""
    started = clock.now()
    start = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        target = resolve(c.url, allowed=allowed)
        connection: http.client.HTTPConnection = (
            _PinnedHTTPS(target, timeout)
            if target.scheme == "https"
            else http.client.HTTPConnection(target.address, target.port, timeout=timeout)
        )
        try:
            host = target.host if ":" not in target.host else f"[{target.host}]"
            connection.request(
                "POST",
                target.path,
                body=c.body,
                headers={
                    "Host": host if target.port in (80, 443) else f"{host}:{target.port}",
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    HEADER: signature(c.secret, int(time.time()), c.body),
                    EVENT_HEADER: str(c.event_id),
                    DELIVERY_HEADER: str(c.delivery_id),
                    ATTEMPT_HEADER: str(c.attempts + 1),
                },
            )
            answer = connection.getresponse()
            answer.read(64 * 1024)
            status = answer.status
            if not 200 <= status < 300:
                error = f"HTTP {status} {answer.reason}"[:500]
        finally:
            connection.close()
    except NotifyInputError as exc:
        error = exc.detail
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(status, error, round((time.perf_counter() - start) * 1000), started)
