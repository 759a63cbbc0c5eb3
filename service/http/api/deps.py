"""What routes depend on: a database session (the route owns its transaction), the scorer loaded
in ``lifespan``, and the service's limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from registry import clock
from service.engine.books import Books
from service.engine.decisions import Scorer
from service.engine.errors import NotReady
from service.store.settings import ServiceSettings, Settings


def service_settings(settings: Settings) -> ServiceSettings:
    return settings.service


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session without a transaction: the route opens one with ``session.begin()``. Making
    one touches no database (nor does closing it, every transaction being over), so this runs
    on the event loop: no thread hop on the way in or out."""
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_scorer(request: Request) -> Scorer:
    """The champion's scorer; 503 with the reason while there is none."""
    champion = request.app.state.champion
    scorer = champion.get()
    if scorer is None:
        raise NotReady(f"no risk model to score with: {champion.why_not}")
    return scorer


ScorerDep = Annotated[Scorer, Depends(get_scorer)]


async def get_books(request: Request) -> Books:
    books: Books = request.app.state.books
    return books


BooksDep = Annotated[Books, Depends(get_books)]


async def get_limits(request: Request) -> ServiceSettings:
    limits: ServiceSettings = request.app.state.limits
    return limits


LimitsDep = Annotated[ServiceSettings, Depends(get_limits)]


def today_of(request: Request) -> dt.date:
    """The registry's date now, in the service's time zone: the only today there is."""
    return clock.today(request.app.state.time_zone)
