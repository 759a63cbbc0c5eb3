"""Service latency under a bounded load on 127.0.0.1: concurrency 16 against one uvicorn worker,
for a registry check (one code), a score with reasons (from the day's score book, and computed
on a day without one) and a quote, each next to a bare endpoint of the same app that returns a
constant (``/healthz``: the framework's ceiling), as ratios.

The province is simulated, loaded into a scratch SQLite file with one listing published, and the
model fitted in-process; the server runs in its own process, the load from wrk (see
:mod:`experiments.bench_load`). Each case gets a second of warm-up, then a fixed-length run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing as mp
import socket
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import text
from sqlalchemy.orm import Session

from experiments.bench_load import Case, load
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
from service.db import make_engine, upgrade
from service.decisions import Scorer
from service.keys import create_key
from service.settings import Settings

END = dt.date(2025, 12, 31)
AS_OF = dt.date(2026, 3, 31)  # the day of the score book
UNBOOKED = dt.date(2026, 3, 30)  # a day without one: scores computed per request
CONCURRENCY = 16


def _province(folder: Path, enterprises: int) -> tuple[Scorer, list[str], str]:
    world = simulate(enterprises, 4, seed=11, end=END)
    write_world(world, folder / "province", "csv")
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
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
    history = History.from_frames(world.tables)
    X, y, meta = training_set(history, as_of_grid(history, "2023-01-01", END), data_end=END)
    config = dataclasses.replace(load_config(), pairs={"candidates": 0, "min_gain_auc": 1.0})
    model = fit_all(X, y, meta, config, seed=3).model
    scorer = Scorer(
        Loaded(model, "safecredit-risk", "bench", "-"),
        load_policy(),
        load_actions(),
        CATALOGUE_VERSION,
    )
    return scorer, codes, token


def _serve(folder: str, port: int, scorer: Scorer) -> None:
    import uvicorn

    from service.app import create_app

    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{folder}/bench.db"},
            "mlflow": {"tracking_uri": f"sqlite:///{folder}/mlflow.db"},
            "service": {"book_days": [str(AS_OF)]},
        }
    )
    app = create_app(settings, scorer=scorer)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def run(enterprises: int = 3_000, seconds: float = 10) -> list[tuple[str, str]]:
    from models.tariff import load_tariff

    amount = load_tariff().insurance.min_insured_amount_cny
    with tempfile.TemporaryDirectory() as tmp:
        scorer, codes, token = _province(Path(tmp), enterprises)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = mp.get_context("fork").Process(target=_serve, args=(tmp, port, scorer))
        server.start()
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for_books(base)
            quote = {
                "uscc": "{uscc}",
                "insured_amount_cny": amount,
                "period_start": "2026-04-01",
                "as_of": str(AS_OF),
            }
            cases = {
                "bare constant (/healthz)": Case("GET", "/healthz"),
                "registry check, 1 code": Case(
                    "POST",
                    "/v1/registry/checks",
                    {"usccs": ["{uscc}"], "domain": "bidding", "as_of": str(AS_OF)},
                ),
                "score with reasons (book)": Case(
                    "GET", f"/v1/enterprises/{{uscc}}/score?as_of={AS_OF}"
                ),
                "score with reasons (computed)": Case(
                    "GET", f"/v1/enterprises/{{uscc}}/score?as_of={UNBOOKED}"
                ),
                "quote (score from book)": Case("POST", "/v1/premiums/quotes", quote),
            }
            results = {
                name: load(base, case, codes, token, concurrency=CONCURRENCY, seconds=seconds)
                for name, case in cases.items()
            }
        finally:
            server.terminate()
            server.join(10)
    client = next(iter(results.values())).client
    rows = [
        (
            "service: load",
            f"concurrency {CONCURRENCY}, 1 uvicorn worker (uvloop, httptools), SQLite, "
            f"{enterprises:,} enterprises, {seconds:g} s per case, client {client}",
        )
    ]
    bare = results["bare constant (/healthz)"]
    for name, f in results.items():
        ratio = (
            ""
            if name.startswith("bare")
            else f" ({f.p50_ms / bare.p50_ms:.1f}× / {f.p99_ms / bare.p99_ms:.1f}× bare)"
        )
        rows.append((f"service: {name} p50 / p99", f"{f.p50_ms:.1f} / {f.p99_ms:.1f} ms{ratio}"))
        rows.append((f"service: {name} throughput", f"{f.per_second:,.0f} req/s"))
    return rows


def _wait_for_books(base: str) -> None:
    """Until the service answers and the book of AS_OF is ready."""
    deadline = time.monotonic() + 120
    while True:
        try:
            r = httpx.get(f"{base}/readyz")
            if r.status_code == 200 and r.json()["books"][str(AS_OF)].startswith("ready"):
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not start, or its score book was not built")
        time.sleep(0.2)


if __name__ == "__main__":
    for key, value in run():
        print(f"{key:<50} {value}")
