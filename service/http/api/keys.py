"""API keys over HTTP, for admins: create (the token is shown once, optionally expiring), list
(with when each was last used), revoke (never the last active admin key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from service.engine.errors import BadInput, NotFound, ServiceError
from service.engine.keys import (
    KeyInputError,
    LastAdminError,
    Principal,
    create_key,
    list_keys,
    parse_duration,
    revoke_key,
)
from service.http.api.deps import SessionDep
from service.http.api.inputs import Line
from service.http.api.responses import errors
from service.http.api.schemas import KeyCreated, KeyIn, KeyOut
from service.http.auth import allow
from service.store.tables import ApiKey

router = APIRouter(prefix="/v1/keys", tags=["keys"])
Admin = Annotated[Principal, Depends(allow("admin"))]
ERRORS = errors()
KeyId = Annotated[Line, Path(max_length=64, description="the key's id (not its token)")]


def _out(row: ApiKey) -> KeyOut:
    return KeyOut.model_validate(row, from_attributes=True)


@router.post(
    "",
    response_model=KeyCreated,
    status_code=201,
    responses=ERRORS,
)
def create(body: KeyIn, session: SessionDep, _: Admin) -> KeyCreated:
    """A new key; the token is in this answer only."""
    try:
        expires_in = parse_duration(body.expires_in) if body.expires_in is not None else None
        with session.begin():
            row, token = create_key(
                session,
                role=body.role,
                name=body.name,
                uscc=body.uscc,
                department=body.department,
                expires_in=expires_in,
            )
            out = _out(row)
    except KeyInputError as exc:
        raise BadInput(str(exc)) from None
    return KeyCreated(**out.model_dump(), token=token)


@router.get("", response_model=list[KeyOut], responses=ERRORS)
def keys(session: SessionDep, _: Admin) -> list[KeyOut]:
    """Every key, revoked ones included (never a secret)."""
    with session.begin():
        return [_out(k) for k in list_keys(session)]


@router.delete(
    "/{key_id}",
    response_model=KeyOut,
    responses=errors(404, 409, e404="no such key", e409="the last active admin key"),
)
def revoke(key_id: KeyId, request: Request, session: SessionDep, _: Admin) -> KeyOut:
    """Revoke a key: it stops working at once here (in other service processes, within
    ``service.key_cache_seconds``), and so do the page sign-ins made with it. The last active
    admin key is not revoked (409)."""
    try:
        with session.begin():
            out = _out(revoke_key(session, key_id=key_id))
    except LastAdminError as exc:
        raise LastAdmin(str(exc)) from None
    except KeyInputError as exc:
        raise NotFound(str(exc)) from None
    request.app.state.principals.forget(key_id)
    return out


class LastAdmin(ServiceError):
    status = 409
    kind = "conflict"
