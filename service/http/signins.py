"""The enterprise page's sign-in sessions: a browser signs in once with its API key and gets a
random session id in its cookie (never the key); only the id's sha256 is kept, with the key it
acts for and when it expires. Signing out, or revoking the key, ends it. Query functions take the
session and never commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy.orm import Session

from service.engine.keys import Principal, is_live, principal_of
from service.store.tables import ApiKey, SignIn


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def open_session(
    session: Session, *, key_id: str, lifetime: dt.timedelta, now: dt.datetime | None = None
) -> tuple[SignIn, str]:
    """A new sign-in for ``key_id``, valid for ``lifetime``: the row and the id for the cookie
    (shown only to that browser)."""
    now = now or dt.datetime.now(dt.UTC)
    session_id = secrets.token_urlsafe(32)
    row = SignIn(
        id_sha256=_digest(session_id),
        key_id=key_id,
        created_at=now,
        expires_at=now + lifetime,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return row, session_id


def signed_in(
    session: Session, *, session_id: str, now: dt.datetime | None = None
) -> tuple[Principal, ApiKey] | None:
    """Whom a live sign-in acts for, with its key; None for an unknown, ended or expired
    session, or one whose key is revoked or expired."""
    now = now or dt.datetime.now(dt.UTC)
    row = session.get(SignIn, _digest(session_id))
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
        return None
    key = session.get(ApiKey, row.key_id)
    if key is None or not is_live(key, now):
        return None
    return principal_of(key), key


def close_session(session: Session, *, session_id: str) -> SignIn | None:
    """Sign out: the session is refused from now on (an unknown id changes nothing)."""
    row = session.get(SignIn, _digest(session_id))
    if row is not None and row.revoked_at is None:
        row.revoked_at = dt.datetime.now(dt.UTC)
        session.flush()
    return row
