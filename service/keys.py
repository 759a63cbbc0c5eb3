"""API keys: created with a role (an enterprise key bound to one USCC, a regulator key to its
department), shown once, stored only as a hash, revocable. Query functions take the session and
never commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from features.uscc import shape_problem
from service.tables import ApiKey

ROLES = ("insurer", "approval_office", "enterprise", "regulator", "admin")
PREFIX = "sc"


class KeyInputError(ValueError):
    """A key cannot be created or revoked as asked; the message says which field and why."""


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
) -> tuple[ApiKey, str]:
    """A new key and its token (``sc_<key id>_<secret>``): the token is shown once, only its
    secret's hash is kept."""
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
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiKey(
        key_id=key_id,
        secret_sha256=_digest(secret),
        role=role,
        uscc=uscc,
        department=department or None,
        name=name or f"{role} key",
        created_at=dt.datetime.now(dt.UTC),
        revoked_at=None,
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
    """Revoke ``key_id`` from now on; revoking a revoked key keeps its first revocation time."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise KeyInputError(f"key_id: no key {key_id!r}")
    if row.revoked_at is None:
        row.revoked_at = dt.datetime.now(dt.UTC)
        session.flush()
    return row


def authenticate(session: Session, *, token: str) -> Principal | None:
    """The principal of a live key, or None for an unknown, malformed or revoked token."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, key_id, secret = parts
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    return Principal(row.key_id, row.role, row.name, row.uscc, row.department)
