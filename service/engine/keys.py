"""API keys: created with a role (an enterprise key bound to one USCC, a regulator key to its
department), shown once, stored only as a hash, revocable, optionally expiring. The last active
admin key cannot be revoked; revoking a key ends its sign-in sessions. Query functions take the
session and never commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from features.uscc import shape_problem
from service.engine.errors import Forbidden
from service.store.tables import ApiKey, SignIn

ROLES = ("insurer", "approval_office", "enterprise", "regulator", "admin")
PREFIX = "sc"


class KeyInputError(ValueError):
    """A key cannot be created or revoked as asked; the message says which field and why."""


class LastAdminError(KeyInputError):
    """Revoking this key would leave no active admin key (nobody could manage keys)."""


_DURATION = re.compile(r"^\s*(\d{1,6})\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_duration(text: str, *, field: str = "expires_in") -> dt.timedelta:
    """``90d``, ``12h`` or ``30m`` as a timedelta (positive)."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise KeyInputError(f"{field}: {text!r} is not a duration such as 90d, 12h or 30m")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes (stored in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def is_live(row: ApiKey, now: dt.datetime) -> bool:
    """Neither revoked nor expired at ``now``."""
    return row.revoked_at is None and (row.expires_at is None or _aware(row.expires_at) > now)


def _live_at(now: dt.datetime) -> ColumnElement[bool]:
    return (ApiKey.revoked_at.is_(None)) & or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now)


@dataclass(frozen=True)
class Principal:
    """Who is asking, as the routes see it."""

    key_id: str
    role: str
    name: str
    uscc: str | None = None
    department: str | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    role: str,
    name: str = "",
    uscc: str | None = None,
    department: str | None = None,
    expires_in: dt.timedelta | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its token (``sc_<key id>_<secret>``): the token is shown once, only its
    secret's hash is kept. With ``expires_in`` the key is refused from then on."""
    if role not in ROLES:
        raise KeyInputError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if role == "enterprise":
        code = (uscc or "").strip().upper()
        if not code:
            raise KeyInputError("uscc: an enterprise key is bound to one USCC; give --uscc")
        problem = shape_problem(code)
        if problem:
            raise KeyInputError(f"uscc: {code!r}: {problem}")
        uscc = code
    elif uscc:
        raise KeyInputError(f"uscc: only enterprise keys are bound to a USCC, not {role} keys")
    if department and role != "regulator":
        raise KeyInputError(f"department: only regulator keys belong to a department, not {role}")
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise KeyInputError("expires_in: must be a positive duration")
    now = dt.datetime.now(dt.UTC)
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiKey(
        key_id=key_id,
        secret_sha256=_digest(secret),
        role=role,
        uscc=uscc,
        department=department or None,
        name=name or f"{role} key",
        created_at=now,
        revoked_at=None,
        expires_at=now + expires_in if expires_in is not None else None,
        last_used_at=None,
    )
    session.add(row)
    session.flush()
    return row, f"{PREFIX}_{key_id}_{secret}"


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_key(session: Session, *, key_id: str) -> ApiKey:
    """Revoke ``key_id`` from now on, and every sign-in session opened with it; revoking a
    revoked key keeps its first revocation time. The last active admin key is never revoked
    (:class:`LastAdminError`): the active admin keys are locked first, so two admins revoking
    each other at once cannot both succeed."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise KeyInputError(f"key_id: no key {key_id!r}")
    now = dt.datetime.now(dt.UTC)
    if row.role == "admin" and is_live(row, now):
        admins = session.scalars(
            select(ApiKey.key_id)
            .where(ApiKey.role == "admin", _live_at(now))
            .order_by(ApiKey.key_id)
            .with_for_update()
        ).all()
        if set(admins) <= {key_id}:
            raise LastAdminError(
                f"key_id: {key_id!r} is the last active admin key; create another admin key "
                "before revoking it"
            )
    if row.revoked_at is None:
        row.revoked_at = now
    session.execute(
        update(SignIn)
        .where(SignIn.key_id == key_id, SignIn.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return row


def key_of(session: Session, *, token: str) -> ApiKey | None:
    """The key row a token names, if its secret matches (live or not)."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, key_id, secret = parts
    row = session.get(ApiKey, key_id)
    if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    return row


def principal_of(row: ApiKey) -> Principal:
    return Principal(row.key_id, row.role, row.name, row.uscc, row.department)


def touch(row: ApiKey, now: dt.datetime) -> None:
    """Record a use (the caller decides how often: not on every request)."""
    row.last_used_at = now
    session = Session.object_session(row)
    if session is not None:
        session.flush()


def record_use(session: Session, *, key_id: str, now: dt.datetime) -> None:
    """Record a key's use with one UPDATE, read nothing first: run as a transaction of its own,
    it starts by writing, so on SQLite a second process's lock is waited for (busy timeout)
    where a read turned write would fail at once ("database is locked")."""
    session.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=now))


def authenticate(
    session: Session, *, token: str, now: dt.datetime | None = None, used: bool = False
) -> Principal | None:
    """The principal of a live key, or None for an unknown, malformed, revoked or expired
    token. With ``used`` the key's last use is recorded as ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    row = key_of(session, token=token)
    if row is None or not is_live(row, now):
        return None
    if used:
        touch(row, now)
    return principal_of(row)


def require_subject(principal: Principal, uscc: str) -> None:
    """An enterprise key sees its own USCC and nothing about any other enterprise."""
    if principal.role == "enterprise" and principal.uscc != uscc:
        raise Forbidden("an enterprise key may only see its own enterprise")
