"""The FastAPI application: ``create_app()``; resources load in ``lifespan``, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from models.champion import ModelRef, resolve
from service import errors
from service.db import make_engine
from service.settings import Settings, get_settings


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    database: str  # "ok" or why not
    model: str  # the champion's version, or why there is none


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database.url)
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="safecredit",
        version="0.1.0",
        summary="Work-safety credit scores, insurance rates and the joint-punishment registry.",
        lifespan=lifespan,
    )
    errors.install(app)

    @app.get("/healthz", response_model=Health, tags=["operations"])
    def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "not ready: says which part"}},
        tags=["operations"],
    )
    def readyz(request: Request, engine: EngineDep) -> Readiness | JSONResponse:
        """Ready only when the database answers and a champion model is registered."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except SQLAlchemyError as exc:
            database = f"unavailable: {exc.__class__.__name__}"
        model = champion_status(settings)
        readiness = Readiness(
            ready=database == "ok" and model.version is not None,
            database=database,
            model=model.version or model.why_not,
        )
        if not readiness.ready:
            return JSONResponse(status_code=503, content=readiness.model_dump())
        return readiness

    return app


def champion_status(settings: Settings) -> ModelRef:
    try:
        return resolve(
            settings.mlflow.tracking_uri, settings.mlflow.model_name, settings.mlflow.alias
        )
    except Exception as exc:  # the registry itself is unreachable: not ready, and say why
        return ModelRef(
            settings.mlflow.model_name,
            settings.mlflow.alias,
            None,
            f"model registry unavailable: {exc}",
        )
