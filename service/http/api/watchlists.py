"""Watchlists over HTTP: ``/v1/watchlists``. Insurers, approval offices and regulators watch any
codes (up to ``notify.max_codes`` added or removed per request, each validated and every bad one
named; one bad code and nothing changes); an enterprise key watches only itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.engine.keys import Principal
from service.engine.notify import watch
from service.http.api.deps import SessionDep
from service.http.api.inputs import STRICT, Line
from service.http.api.responses import errors
from service.http.api.schemas import UtcDatetime
from service.http.auth import allow
from service.store.settings import NotifySettings

router = APIRouter(prefix="/v1/watchlists", tags=["notifications"])
Watcher = Annotated[Principal, Depends(allow(*watch.WATCHERS))]
ERRORS = errors(404, 409, 413, e404="no such watchlist of this key", e409="the name is taken")
ListId = Annotated[Line, Path(max_length=64, description="the watchlist's id")]
Code = Annotated[str, Field(max_length=64)]


def notify_settings(request: Request) -> NotifySettings:
    settings: NotifySettings = request.app.state.notify
    return settings


NotifyDep = Annotated[NotifySettings, Depends(notify_settings)]


class WatchlistIn(BaseModel):
    model_config = STRICT
    name: Line = Field(min_length=1, max_length=200, description="a name unique for the key")
    codes: list[Code] = Field(default_factory=list, description="USCCs to watch")


class CodesIn(BaseModel):
    model_config = STRICT
    codes: list[Code] = Field(min_length=1, description="USCCs to add or remove")


class WatchlistOut(BaseModel):
    watchlist_id: str = Field(description="the watchlist's id")
    name: str = Field(description="its name, unique for the key")
    codes: int = Field(description="how many codes it holds")
    created_at: UtcDatetime = Field(description="when it was made (server time, UTC)")


class CodesChanged(BaseModel):
    watchlist_id: str = Field(description="the watchlist changed")
    changed: int = Field(description="codes added (not watched before) or removed (watched)")
    codes: int = Field(description="how many codes it holds now")


class CodesPage(BaseModel):
    codes: list[str] = Field(description="the codes on this page, in order")
    next_after: str | None = Field(description="pass as `after` for the next page; null: done")


def _out(info: watch.ListInfo) -> WatchlistOut:
    return WatchlistOut(
        watchlist_id=info.watchlist_id, name=info.name, codes=info.codes, created_at=info.created_at
    )


@router.post("", response_model=WatchlistOut, status_code=201, responses=ERRORS)
def create(
    body: WatchlistIn, session: SessionDep, principal: Watcher, settings: NotifyDep
) -> WatchlistOut:
    """A new watchlist, with codes or empty."""
    with session.begin():
        row = watch.create_watchlist(
            session, principal=principal, name=body.name, codes=body.codes, most=settings.max_codes
        )
        n = watch.size(session, watchlist_id=row.watchlist_id)
        return _out(watch.ListInfo(row.watchlist_id, row.name, n, row.created_at))


@router.get("", response_model=list[WatchlistOut], responses=ERRORS)
def listing(session: SessionDep, principal: Watcher) -> list[WatchlistOut]:
    """The key's watchlists, by name."""
    with session.begin():
        return [_out(w) for w in watch.watchlists(session, principal=principal)]


@router.get("/{watchlist_id}/codes", response_model=CodesPage, responses=ERRORS)
def codes(
    watchlist_id: ListId,
    session: SessionDep,
    principal: Watcher,
    after: Annotated[
        str, Query(max_length=18, description="the last code of the previous page")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=10_000, description="codes on this page")] = 1_000,
) -> CodesPage:
    """The watchlist's codes, a page at a time."""
    with session.begin():
        page = watch.codes_of(
            session, principal=principal, watchlist_id=watchlist_id, after=after, limit=limit
        )
    return CodesPage(codes=page, next_after=page[-1] if len(page) == limit else None)


def _changed(
    change: Callable[..., int],
    session: Session,
    principal: Principal,
    watchlist_id: str,
    body: CodesIn,
    settings: NotifySettings,
) -> CodesChanged:
    """Codes added or removed, and the watchlist's size after, in one transaction."""
    with session.begin():
        n = change(
            session,
            principal=principal,
            watchlist_id=watchlist_id,
            codes=body.codes,
            most=settings.max_codes,
        )
        return CodesChanged(
            watchlist_id=watchlist_id,
            changed=n,
            codes=watch.size(session, watchlist_id=watchlist_id),
        )


@router.post("/{watchlist_id}/codes", response_model=CodesChanged, responses=ERRORS)
def add(
    watchlist_id: ListId,
    body: CodesIn,
    session: SessionDep,
    principal: Watcher,
    settings: NotifyDep,
) -> CodesChanged:
    """Watch more codes (those watched already stay as they are)."""
    return _changed(watch.add_codes, session, principal, watchlist_id, body, settings)


@router.post("/{watchlist_id}/codes/remove", response_model=CodesChanged, responses=ERRORS)
def remove(
    watchlist_id: ListId,
    body: CodesIn,
    session: SessionDep,
    principal: Watcher,
    settings: NotifyDep,
) -> CodesChanged:
    """Stop watching codes (a code not watched is no error)."""
    return _changed(watch.remove_codes, session, principal, watchlist_id, body, settings)


@router.delete("/{watchlist_id}", response_model=WatchlistOut, responses=ERRORS)
def delete(watchlist_id: ListId, session: SessionDep, principal: Watcher) -> WatchlistOut:
    """Delete the watchlist and its codes."""
    with session.begin():
        return _out(watch.delete_watchlist(session, principal=principal, watchlist_id=watchlist_id))
