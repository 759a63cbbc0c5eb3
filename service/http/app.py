"""The FastAPI application: ``create_app()``; resources load in ``lifespan``, never at import.

The champion model is loaded through the MLflow registry alias; without one the service still
starts, says so in ``/readyz`` and answers 503 on what needs a model. A database outage gives
503s within seconds (pool, connect, statement and reply timeouts, TCP keepalives: see
:func:`service.store.db.guard_server`), and pooled connections are checked before use, so the
service recovers by itself when the database is back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from registry import clock
from registry.errors import InputError, RegistryError, TooLargeError
from service.engine import ledger
from service.engine.books import Book, Books
from service.engine.decisions import Scorer
from service.engine.notify.grades import announce_book
from service.engine.notify.worker import start_worker
from service.engine.snapshots import Snapshots
from service.http import errors, pages
from service.http.api import changes, decisions, keys, plans, registry, scores, watchlists
from service.http.api.champion import Champion
from service.http.api.deps import ServiceSettings, service_settings
from service.http.auth import Principals
from service.http.headers import SecurityHeaders
from service.http.limits import Limits
from service.store.db import database_state, guard_server, make_engine, sessions, signing_key
from service.store.settings import Settings, get_settings

MAX_PROBLEMS = 20  # named in a 422's detail; the rest counted
# the registry's errors by the kinds every other answer uses (others: the class's name)
KINDS: dict[type[RegistryError], str] = {InputError: "bad_input", TooLargeError: "too_large"}


class Health(BaseModel):
    status: str = Field(description='"ok" whenever the process answers')


class Readiness(BaseModel):
    ready: bool = Field(description="true when the database answers and a champion model is loaded")
    database: str = Field(description='"ok" or why not')
    model: str = Field(description="the champion's name/version, or why there is none")
    books: dict[str, str] = Field(
        {}, description="score books by day: ready, building or why not (informative)"
    )


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def service_engine(url: str, limits: ServiceSettings, *, echo: bool = False) -> Engine:
    """The database engine with timeouts short enough that an outage answers 503, not a hang,
    and a pooled connection for every request running at once."""
    pool: dict[str, Any] = {
        "pool_size": limits.pool_size,
        "max_overflow": 10,  # for the score books' builders beside the requests
        "pool_timeout": limits.pool_timeout_seconds,
        # the connection returned last is taken first: its prepared statements are warm
        # (sqlite3's statement cache, psycopg's prepared statements are per connection), and
        # the others wait for the next burst
        "pool_use_lifo": True,
    }
    if make_url(url).get_backend_name() == "sqlite":
        return make_engine(
            url, echo=echo, busy_timeout_seconds=limits.sqlite_busy_timeout_seconds, **pool
        )
    engine = create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        **pool,
        connect_args={"connect_timeout": limits.connect_timeout_seconds},
    )
    guard_server(engine, limits)  # statement, reply and TCP timeouts: a silent server is a 503
    return engine


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    scorer: Scorer | None = None,
    limits: ServiceSettings | None = None,
) -> FastAPI:
    """The application. ``engine``, ``scorer`` and ``limits`` replace what ``lifespan`` would
    make from the settings (for embedding and tests); by default all come from ``settings``."""
    settings = settings or get_settings()
    limits = limits or service_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signing_key(settings.signing_key_file)  # the decision ledger seals with it
        app.state.engine = engine or service_engine(
            settings.database.url, limits, echo=settings.database.echo
        )
        app.state.sessions = sessions(app.state.engine)
        app.state.ledger = ledger.Writer(app.state.engine)
        app.state.ledger.start()
        app.state.limits = limits
        app.state.time_zone = settings.registry.time_zone
        app.state.monitor_dir = settings.var_dir / "monitor"  # the monitor's reports
        app.state.notify = settings.notify
        app.state.principals = Principals(
            limits.key_cache_seconds, touch_seconds=limits.last_used_every_seconds
        )
        if scorer is not None:
            app.state.champion = Champion.of(scorer)
        else:
            app.state.champion = Champion(settings.mlflow, limits.model_retry_seconds)
            app.state.champion.try_load()
        app.state.tariff = load_tariff() if load_tariff else None

        def today() -> dt.date:
            return clock.today(settings.registry.time_zone)

        def announce(built_by: Scorer, book: Book) -> None:
            announce_book(app.state.sessions, built_by, book, today=today())

        app.state.books = Books(
            app.state.sessions, limits.book_days, today=today, on_built=announce
        )
        if (ready := app.state.champion.get()) is not None:
            app.state.books.start(ready)
        worker = start_worker(app.state.sessions, settings)
        app.state.snapshots = Snapshots(app.state.sessions, limits.snapshot_refresh_ms)
        app.state.snapshots.start()
        yield
        await app.state.snapshots.stop()
        if worker is not None:
            worker.stop()
        await app.state.ledger.close()
        if engine is None:
            app.state.engine.dispose()

    app = FastAPI(
        title="safecredit",
        version="0.1.0",
        summary="Work-safety credit scores, insurance rates and the joint-punishment registry.",
        lifespan=lifespan,
        docs_url=None,  # served from the package's files: service.http.pages.apidocs
        redoc_url=None,
    )
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    _install_handlers(app)
    app.add_middleware(Limits, max_body_bytes=limits.max_body_bytes)
    for module in (scores, registry, decisions, keys, watchlists, changes, plans, pages):
        app.include_router(module.router)
    pages.mount_assets(app)
    load_tariff = _include_quotes(app)

    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz() -> Health:
        """The process answers (a constant: the framework's ceiling in ``make bench``)."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "not ready: says which part"}},
        tags=["operations"],
    )
    def readyz(request: Request, engine: EngineDep) -> Readiness | JSONResponse:
        """Ready only when the database answers, can be written, and the champion model is
        loaded; answers within the probe's timeout whatever the database does."""
        limits: ServiceSettings = request.app.state.limits
        database = database_state(engine, timeout=limits.ready_timeout_seconds)
        champion: Champion = request.app.state.champion
        champion.get()
        version = champion.version
        readiness = Readiness(
            ready=database == "ok" and version is not None,
            database=database,
            model=f"{champion.mlflow.model_name}/{version}" if version else champion.why_not,
            books=request.app.state.books.status(),
        )
        if not readiness.ready:
            return JSONResponse(status_code=503, content=readiness.model_dump())
        return readiness

    return app


def _include_quotes(app: FastAPI) -> Callable[[], Any] | None:
    """Premium quotes, when the tariff's service module is installed: the router, and the
    tariff's loader for ``lifespan``."""
    try:
        from service.http.api import quotes
    except ImportError:
        return None
    app.include_router(quotes.router)
    return quotes.load_default_tariff


def _body(
    status: int, kind: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content=errors.ErrorOut(error=kind, detail=detail).model_dump(),
        headers=headers,
    )


HTTP_KINDS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    422: "bad_input",
}


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()))
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
            if len(problems) == MAX_PROBLEMS:
                problems.append(f"… {len(exc.errors()) - MAX_PROBLEMS} more")
                break
        return _body(422, "bad_input", "; ".join(problems) or "invalid request")

    @app.exception_handler(RegistryError)
    async def _registry(_request: Request, exc: RegistryError) -> JSONResponse:
        kind = KINDS.get(type(exc), type(exc).__name__.removesuffix("Error").lower())
        return _body(exc.status_code, kind, str(exc))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        # the routing's 405 carries Allow, and it is kept
        kind = HTTP_KINDS.get(exc.status_code, "http")
        return _body(exc.status_code, kind, str(exc.detail), exc.headers)

    async def _database(_request: Request, exc: Exception) -> JSONResponse:
        return _body(
            503, "database_unavailable", f"the database is unavailable: {type(exc).__name__}"
        )

    for kind in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(kind, _database)
