"""Service latency under a bounded load on 127.0.0.1: concurrency 16 against one uvicorn worker
and against two (one per core, each on a listening socket of its own on the port, as
``safecredit serve --workers 2`` runs them), for a registry check (one code), a score with
reasons (from the day's score book, and computed on a day without one) and a quote, each next
to a bare endpoint of the same app that returns a constant (``/healthz``: the framework's
ceiling), as ratios.

Each case runs twice (see :mod:`experiments.bench_load`): saturated, for the throughput, and
paced at ``RATE`` requests a second from the same 16 connections, for the latency a request
has at that load. The case computed per request cannot keep up with the pace and runs
saturated only.

The province is simulated, loaded with one listing published into each database — a scratch
SQLite file (the embedded default) and a fresh schema of the PostgreSQL server at
``SAFECREDIT_BENCH_POSTGRES_URL`` (production's database; left out when unreachable) — and the
model fitted in-process; the server runs in its own process, the load from wrk (see
:mod:`experiments.bench_load`). Each case gets a second of warm-up, then a fixed-length run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing as mp
import os
import socket
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from experiments.bench_load import Case, Figures, load
from experiments.simulate import simulate, write_world
from features.catalogue import CATALOGUE_VERSION
from features.ingest import ingest
from features.store import History
from features.training import as_of_grid, training_set
from models.policy import load_policy
from models.recourse import load_actions
from models.tracking import Loaded
from models.training import fit_all, load_config
from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import act, propose
from service.cli.serving import listening
from service.engine.decisions import Scorer
from service.engine.keys import create_key
from service.store.db import make_engine, upgrade
from service.store.settings import Settings

END = dt.date(2025, 12, 31)
AS_OF = dt.date(2026, 3, 31)  # the day of the score book
UNBOOKED = dt.date(2026, 3, 30)  # a day without one: scores computed per request
CONCURRENCY = 16
RATE = 100.0  # requests a second, in all, of the paced runs
PG_URL = os.environ.get(
    "SAFECREDIT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_SCHEMA = "bench_service"


def _province(folder: Path, enterprises: int) -> Scorer:
    """The province written to ``folder`` and the model fitted on it."""
    world = simulate(enterprises, 4, seed=11, end=END)
    write_world(world, folder / "province", "csv")
    history = History.from_frames(world.tables)
    X, y, meta = training_set(history, as_of_grid(history, "2023-01-01", END), data_end=END)
    config = dataclasses.replace(load_config(), pairs={"candidates": 0, "min_gain_auc": 1.0})
    model = fit_all(X, y, meta, config, seed=3).model
    return Scorer(
        Loaded(model, "safecredit-risk", "bench", "-"),
        load_policy(),
        load_actions(),
        CATALOGUE_VERSION,
    )


def _databases(folder: Path) -> dict[str, str]:
    """The databases to measure against, by name: SQLite always, PostgreSQL when it answers
    (a fresh schema, dropped by :func:`_drop`)."""
    out = {"SQLite": f"sqlite:///{folder / 'bench.db'}"}
    try:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        admin.dispose()
    except OperationalError:
        return out
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"})
    out["PostgreSQL"] = url.render_as_string(hide_password=False)
    return out


def _drop(urls: dict[str, str]) -> None:
    if "PostgreSQL" in urls:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def _load(url: str, folder: Path) -> tuple[list[str], str]:
    """The province ingested into the database at ``url``, one listing published, and a key:
    the codes and the key's token."""
    engine = make_engine(url)
    upgrade(engine)
    policy = find_policy("mem11")
    with Session(engine) as session, session.begin():
        ingest(session, folder / "province", known_on=END)
        p = evaluate(session, policy=policy, as_of=END)[0]
        who = {"actor": "bench", "department": p.department}
        entry = propose(session, proposal=p, policy=policy, on=dt.date(2026, 1, 5), **who)
        for action, on in (("notify", (1, 6)), ("decide", (2, 2)), ("publish", (2, 5))):
            act(
                session,
                entry_id=entry.entry_id,
                action=action,
                on=dt.date(2026, *on),
                reason=action,
                **who,
            )
        codes = [c for (c,) in session.execute(text("SELECT DISTINCT uscc FROM enterprises"))]
        _, token = create_key(session, role="regulator", name="bench")
    engine.dispose()
    return sorted(codes), token


def _serve(url: str, folder: str, sock: socket.socket, scorer: Scorer) -> None:
    """One worker process answering on its own listening socket on the port, as ``safecredit
    serve --workers`` runs them (``SO_REUSEPORT``: the kernel spreads the connections)."""
    import uvicorn

    from service.http.app import create_app

    settings = Settings.model_validate(
        {
            "database": {"url": url},
            "mlflow": {"tracking_uri": f"sqlite:///{folder}/mlflow.db"},
            "service": {"book_days": [str(AS_OF)]},
        }
    )
    app = create_app(settings, scorer=scorer)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _cases(amount: float) -> dict[str, Case]:
    quote = {
        "uscc": "{uscc}",
        "insured_amount_cny": amount,
        "period_start": "2026-04-01",
        "as_of": str(AS_OF),
    }
    return {
        "bare constant (/healthz)": Case("GET", "/healthz"),
        "registry check, 1 code": Case(
            "POST",
            "/v1/registry/checks",
            {"usccs": ["{uscc}"], "domain": "bidding", "as_of": str(AS_OF)},
        ),
        "score with reasons (book)": Case("GET", f"/v1/enterprises/{{uscc}}/score?as_of={AS_OF}"),
        "score with reasons (computed)": Case(
            "GET", f"/v1/enterprises/{{uscc}}/score?as_of={UNBOOKED}"
        ),
        "quote (score from book)": Case("POST", "/v1/premiums/quotes", quote),
    }


def _measure(
    url: str,
    folder: str,
    scorer: Scorer,
    codes: list[str],
    token: str,
    workers: int,
    seconds: float,
) -> dict[str, dict[str, Figures]]:
    """Every case saturated and paced, against ``workers`` processes."""
    from models.tariff import load_tariff

    first = listening("127.0.0.1", 0)
    port = first.getsockname()[1]
    socks = [first, *(listening("127.0.0.1", port) for _ in range(workers - 1))]
    base = f"http://127.0.0.1:{port}"
    fork = mp.get_context("fork")
    servers = [fork.Process(target=_serve, args=(url, folder, s, scorer)) for s in socks]
    for server in servers:
        server.start()
    cases = _cases(load_tariff().insurance.min_insured_amount_cny)
    try:
        _wait_for_books(base, workers)
        saturated = {
            name: load(base, case, codes, token, concurrency=CONCURRENCY, seconds=seconds)
            for name, case in cases.items()
        }
        paced = {
            name: load(
                base, case, codes, token, concurrency=CONCURRENCY, seconds=seconds, rate=RATE
            )
            for name, case in cases.items()
            if "computed" not in name
        }
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.join(10)
        for sock in socks:
            sock.close()
    return {"saturated": saturated, f"paced {RATE:g}/s": paced}


def run(
    enterprises: int = 3_000, seconds: float = 10, workers: tuple[int, ...] = (1, 2)
) -> list[tuple[str, str]]:
    found: dict[tuple[str, int], dict[str, dict[str, Figures]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scorer = _province(Path(tmp), enterprises)
        urls = _databases(Path(tmp))
        try:
            for database, url in urls.items():
                codes, token = _load(url, Path(tmp))
                for n in workers:
                    found[database, n] = _measure(url, tmp, scorer, codes, token, n, seconds)
        finally:
            _drop(urls)
    client = next(iter(next(iter(found.values()))["saturated"].values())).client
    rows = [
        (
            "service: load",
            f"concurrency {CONCURRENCY}, uvicorn (uvloop, httptools), {', '.join(urls)}, "
            f"{enterprises:,} enterprises, {seconds:g} s per case, client {client}",
        )
    ]
    if "PostgreSQL" not in urls:
        rows.append(("service: PostgreSQL", f"left out: {PG_URL} does not answer"))
    for (database, n), kinds in found.items():
        for kind, results in kinds.items():
            bare = results["bare constant (/healthz)"]
            for name, f in results.items():
                ratio = (
                    ""
                    if name.startswith("bare")
                    else f" ({f.p50_ms / bare.p50_ms:.1f}× / {f.p99_ms / bare.p99_ms:.1f}× bare)"
                )
                at = f"service, {database}, {n} worker{'s' if n > 1 else ''}, {kind}: {name}"
                rows.append((f"{at} p50 / p99", f"{f.p50_ms:.1f} / {f.p99_ms:.1f} ms{ratio}"))
                rows.append((f"{at} throughput", f"{f.per_second:,.0f} req/s"))
    return rows


def _wait_for_books(base: str, workers: int) -> None:
    """Until the service answers and the book of AS_OF is ready in every worker (as far as
    many readiness answers in a row, each on a new connection, can tell)."""
    deadline = time.monotonic() + 180
    ready = 0
    while True:
        try:
            r = httpx.get(f"{base}/readyz")
            fine = r.status_code == 200 and r.json()["books"][str(AS_OF)].startswith("ready")
            ready = ready + 1 if fine else 0
            if ready >= 10 * workers:
                return
            if fine:
                continue
        except httpx.TransportError:
            ready = 0
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not start, or its score book was not built")
        time.sleep(0.2)


if __name__ == "__main__":
    for key, value in run():
        print(f"{key:<50} {value}")
