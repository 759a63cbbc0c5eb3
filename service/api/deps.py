"""What routes depend on: a database session (the route owns its transaction), the scorer loaded
in ``lifespan``, and the service's limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.decisions import Scorer
from service.errors import NotReady
from service.settings import ServiceSettings, Settings


def service_settings(settings: Settings) -> ServiceSettings:
    return settings.service


def get_session(request: Request) -> Iterator[Session]:
    """A session without a transaction: the route opens one with ``session.begin()``."""
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_scorer(request: Request) -> Scorer:
    """The champion's scorer; 503 with the reason while there is none."""
    champion = request.app.state.champion
    scorer = champion.get()
    if scorer is None:
        raise NotReady(f"no risk model to score with: {champion.why_not}")
    return scorer


ScorerDep = Annotated[Scorer, Depends(get_scorer)]


def get_limits(request: Request) -> ServiceSettings:
    limits: ServiceSettings = request.app.state.limits
    return limits


LimitsDep = Annotated[ServiceSettings, Depends(get_limits)]
