"""Service latency under a bounded load on 127.0.0.1: concurrency 16 against one uvicorn worker,
for a registry check (one code), a score with reasons and a quote, each next to a bare endpoint
of the same app that returns a constant (``/healthz``: the framework's ceiling), as ratios.

The province is simulated, loaded into a scratch SQLite file with one listing published, and the
model fitted in-process; the server runs in its own process, the load from this one (asyncio,
keep-alive connections). Each endpoint gets a warm-up, then a fixed number of requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import multiprocessing as mp
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

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
AS_OF = dt.date(2026, 3, 31)
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
        }
    )
    app = create_app(settings, scorer=scorer)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _load(
    base: str, token: str, make: Any, requests: int, warmup: int
) -> tuple[np.ndarray, float]:
    """(latencies in seconds, wall time) of ``requests`` requests at concurrency 16."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:
        latencies: list[float] = []
        rng = np.random.default_rng(0)

        async def worker(n: int, keep: bool) -> None:
            for _ in range(n):
                method, path, body = make(rng)
                start = time.perf_counter()
                r = await client.request(method, path, json=body)
                elapsed = time.perf_counter() - start
                if r.status_code != 200:
                    raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:200]}")
                if keep:
                    latencies.append(elapsed)

        await asyncio.gather(*(worker(warmup, False) for _ in range(CONCURRENCY)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(requests // CONCURRENCY, True) for _ in range(CONCURRENCY)))
        return np.array(latencies), time.perf_counter() - start


def run(enterprises: int = 3_000, requests: int = 1_600) -> list[tuple[str, str]]:
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
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the service did not start")
                time.sleep(0.2)

            def pick(rng: np.random.Generator) -> str:
                return codes[int(rng.integers(len(codes)))]

            cases = {
                "bare constant (/healthz)": lambda rng: ("GET", "/healthz", None),
                "registry check, 1 code": lambda rng: (
                    "POST",
                    "/v1/registry/checks",
                    {"usccs": [pick(rng)], "domain": "bidding", "as_of": str(AS_OF)},
                ),
                "score with reasons": lambda rng: (
                    "GET",
                    f"/v1/enterprises/{pick(rng)}/score?as_of={AS_OF}",
                    None,
                ),
                "quote": lambda rng: (
                    "POST",
                    "/v1/premiums/quotes",
                    {
                        "uscc": pick(rng),
                        "insured_amount_cny": amount,
                        "period_start": "2026-04-01",
                        "as_of": str(AS_OF),
                    },
                ),
            }
            results = {}
            for name, make in cases.items():
                n = requests if name.startswith(("bare", "registry")) else requests // 4
                results[name] = asyncio.run(_load(base, token, make, n, warmup=3))
        finally:
            server.terminate()
            server.join(10)
    rows = [
        (
            "service: load",
            f"concurrency {CONCURRENCY}, 1 uvicorn worker, SQLite, {enterprises:,} enterprises",
        )
    ]
    bare_lat, _ = results["bare constant (/healthz)"]
    bare_p50, bare_p99 = np.percentile(bare_lat, [50, 99])
    for name, (lat, wall) in results.items():
        p50, p99 = np.percentile(lat, [50, 99])
        ratio = (
            ""
            if name.startswith("bare")
            else (f" ({p50 / bare_p50:.1f}× / {p99 / bare_p99:.1f}× bare)")
        )
        rows.append((f"service: {name} p50 / p99", f"{p50 * 1e3:.1f} / {p99 * 1e3:.1f} ms{ratio}"))
        rows.append((f"service: {name} throughput", f"{len(lat) / wall:,.0f} req/s"))
    return rows


if __name__ == "__main__":
    for key, value in run():
        print(f"{key:<50} {value}")
