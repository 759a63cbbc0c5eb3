"""Speed of point-in-time features, measured side by side in one run (``make bench``).

- batch: N enterprises with about E events, one as-of date: events/s and peak memory of
  :func:`features.pit.as_of`, next to an equivalent DuckDB SQL query over the same frames (same
  results asserted) and a naive per-enterprise loop on a sample (extrapolated);
- online: one enterprise with 20 years of history read from the database + ``as_of``, p50/p99.

Data come from the project's simulator (:func:`experiments.simulate.simulate`): 100,000
enterprises over 13 years make about 10 million events.
Run: ``uv run python -m experiments.bench_features [enterprises] [years]``.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from experiments.simulate import simulate
from features.catalogue import DAYS_SINCE_CAP
from features.contracts import TABLES, Kind
from features.pit import as_of
from features.store import History, read_history
from features.tables import HISTORY_TABLES, Load
from service.store.db import make_engine, upgrade

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# The subset of features DuckDB computes in SQL (every table is used); same definitions as the
# families, on single-version data (so "known at T" is known_from <= T).
SQL = """
WITH
v AS (SELECT uscc,
    count(*) FILTER (severity = 'general' AND found_on > $t - INTERVAL 90 DAY) AS viol_general_90d,
    count(*) FILTER (severity = 'general' AND found_on > $t - INTERVAL 365 DAY) AS viol_general_1y,
    count(*) FILTER (severity = 'general' AND found_on > $t - INTERVAL 1095 DAY) AS viol_general_3y,
    count(*) FILTER (severity = 'serious' AND found_on > $t - INTERVAL 90 DAY) AS viol_serious_90d,
    count(*) FILTER (severity = 'serious' AND found_on > $t - INTERVAL 365 DAY) AS viol_serious_1y,
    count(*) FILTER (severity = 'serious' AND found_on > $t - INTERVAL 1095 DAY) AS viol_serious_3y,
    max(found_on) AS last_violation
  FROM violations WHERE known_from <= $t AND found_on <= $t GROUP BY uscc),
p AS (SELECT uscc,
    count(*) FILTER (decided_on > $t - INTERVAL 365 DAY) AS pen_count_1y,
    count(*) FILTER (decided_on > $t - INTERVAL 1095 DAY) AS pen_count_3y,
    coalesce(sum(amount_cny) FILTER (decided_on > $t - INTERVAL 1095 DAY), 0) AS pen_amount_3y,
    count(*) FILTER (decided_on > $t - INTERVAL 1095 DAY AND measure IN
                     ('suspension', 'permit_suspended', 'permit_revoked', 'closure'))
        AS pen_severe_3y,
    count(*) FILTER (measure <> 'warning' AND (fulfilled_on IS NULL OR fulfilled_on > $t))
        AS pen_unfulfilled
  FROM penalties WHERE known_from <= $t AND decided_on <= $t GROUP BY uscc),
a AS (SELECT uscc,
    count(*) FILTER (occurred_on > $t - INTERVAL 365 DAY) AS acc_count_1y,
    coalesce(sum(deaths) FILTER (occurred_on > $t - INTERVAL 1095 DAY), 0) AS acc_deaths_3y,
    max(occurred_on) AS last_accident
  FROM accidents WHERE known_from <= $t AND reported_on <= $t AND occurred_on <= $t GROUP BY uscc),
h AS (SELECT uscc,
    count(*) FILTER (level = 'general' AND (rectified_on IS NULL OR rectified_on > $t))
        AS haz_open_general,
    count(*) FILTER (level = 'major' AND (rectified_on IS NULL OR rectified_on > $t))
        AS haz_open_major,
    count(*) FILTER (level = 'major' AND (rectified_on IS NULL OR rectified_on > $t)
                     AND due_on < $t) AS haz_overdue_major,
    avg(date_diff('day', due_on, $t)) FILTER ((rectified_on IS NULL OR rectified_on > $t)
                                              AND due_on < $t) AS haz_overdue_days_mean,
    count(*) FILTER (level = 'major' AND found_on > $t - INTERVAL 365 DAY) AS haz_found_major_1y
  FROM hazards WHERE known_from <= $t AND found_on <= $t GROUP BY uscc),
i AS (SELECT uscc, count(*) FILTER (inspected_on > $t - INTERVAL 365 DAY) AS insp_1y
  FROM inspections WHERE known_from <= $t AND inspected_on <= $t GROUP BY uscc)
SELECT pairs.row,
  coalesce(viol_general_90d, 0) AS viol_general_90d,
  coalesce(viol_general_1y, 0) AS viol_general_1y,
  coalesce(viol_general_3y, 0) AS viol_general_3y,
  coalesce(viol_serious_90d, 0) AS viol_serious_90d,
  coalesce(viol_serious_1y, 0) AS viol_serious_1y,
  coalesce(viol_serious_3y, 0) AS viol_serious_3y,
  least(coalesce(date_diff('day', last_violation, $t), $cap), $cap) AS viol_days_since_last,
  coalesce(pen_count_1y, 0) AS pen_count_1y,
  coalesce(pen_count_3y, 0) AS pen_count_3y,
  coalesce(pen_amount_3y, 0) AS pen_amount_3y,
  coalesce(pen_severe_3y, 0) AS pen_severe_3y,
  coalesce(pen_unfulfilled, 0) AS pen_unfulfilled,
  coalesce(acc_count_1y, 0) AS acc_count_1y,
  coalesce(acc_deaths_3y, 0) AS acc_deaths_3y,
  least(coalesce(date_diff('day', last_accident, $t), $cap), $cap) AS acc_days_since_last,
  coalesce(haz_open_general, 0) AS haz_open_general,
  coalesce(haz_open_major, 0) AS haz_open_major,
  coalesce(haz_overdue_major, 0) AS haz_overdue_major,
  coalesce(haz_overdue_days_mean, 0) AS haz_overdue_days_mean,
  coalesce(haz_found_major_1y, 0) AS haz_found_major_1y,
  coalesce(insp_1y, 0) AS insp_1y
FROM pairs LEFT JOIN v USING (uscc) LEFT JOIN p USING (uscc) LEFT JOIN a USING (uscc)
  LEFT JOIN h USING (uscc) LEFT JOIN i USING (uscc)
ORDER BY pairs.row
"""


def duckdb_features(
    frames: dict[str, pd.DataFrame], pairs: pd.DataFrame, cap: int
) -> tuple[pd.DataFrame, float, float]:
    """The SQL subset for one as-of date: (result, load seconds, query seconds)."""
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    for name, frame in frames.items():
        con.register("src", frame)
        con.execute(
            f"CREATE TABLE {name} AS SELECT *, {TABLES[name].known_on} AS known_from FROM src"
        )
        con.unregister("src")
    con.register("pairs", pd.DataFrame({"row": np.arange(len(pairs)), "uscc": pairs["uscc"]}))
    loaded = time.perf_counter() - start
    t = pd.Timestamp(pairs["as_of"].iloc[0]).to_pydatetime()
    start = time.perf_counter()
    result = con.execute(SQL, {"t": t, "cap": cap}).df()
    queried = time.perf_counter() - start
    con.close()
    return result.drop(columns="row"), loaded, queried


def naive_features(
    frames: dict[str, pd.DataFrame], uscc: str, t: pd.Timestamp, cap: int
) -> dict[str, float]:
    """The SQL subset for one enterprise, the obvious way: filter every table, then count."""

    def since(days: pd.Series, back: int) -> pd.Series:
        return (days > t - pd.Timedelta(days=back)) & (days <= t)

    v = frames["violations"][frames["violations"]["uscc"] == uscc]
    v = v[v["found_on"] <= t]
    out: dict[str, float] = {}
    for severity in ("general", "serious"):
        for span, back in (("90d", 90), ("1y", 365), ("3y", 1095)):
            out[f"viol_{severity}_{span}"] = float(
                ((v["severity"] == severity) & since(v["found_on"], back)).sum()
            )
    out["viol_days_since_last"] = float(min((t - v["found_on"].max()).days, cap)) if len(v) else cap
    p = frames["penalties"][frames["penalties"]["uscc"] == uscc]
    p = p[p["decided_on"] <= t]
    out["pen_count_1y"] = float(since(p["decided_on"], 365).sum())
    out["pen_count_3y"] = float(since(p["decided_on"], 1095).sum())
    out["pen_amount_3y"] = float(p.loc[since(p["decided_on"], 1095), "amount_cny"].sum())
    severe = p["measure"].isin(["suspension", "permit_suspended", "permit_revoked", "closure"])
    out["pen_severe_3y"] = float((severe & since(p["decided_on"], 1095)).sum())
    open_ = p["fulfilled_on"].isna() | (p["fulfilled_on"] > t)
    out["pen_unfulfilled"] = float((open_ & (p["measure"] != "warning")).sum())
    a = frames["accidents"][frames["accidents"]["uscc"] == uscc]
    a = a[(a["reported_on"] <= t) & (a["occurred_on"] <= t)]
    out["acc_count_1y"] = float(since(a["occurred_on"], 365).sum())
    out["acc_deaths_3y"] = float(a.loc[since(a["occurred_on"], 1095), "deaths"].sum())
    out["acc_days_since_last"] = (
        float(min((t - a["occurred_on"].max()).days, cap)) if len(a) else cap
    )
    h = frames["hazards"][frames["hazards"]["uscc"] == uscc]
    h = h[h["found_on"] <= t]
    is_open = h["rectified_on"].isna() | (h["rectified_on"] > t)
    overdue = is_open & (h["due_on"] < t)
    out["haz_open_general"] = float((is_open & (h["level"] == "general")).sum())
    out["haz_open_major"] = float((is_open & (h["level"] == "major")).sum())
    out["haz_overdue_major"] = float((overdue & (h["level"] == "major")).sum())
    late = (t - h.loc[overdue, "due_on"]).dt.days
    out["haz_overdue_days_mean"] = float(late.mean()) if len(late) else 0.0
    out["haz_found_major_1y"] = float(((h["level"] == "major") & since(h["found_on"], 365)).sum())
    i = frames["inspections"][frames["inspections"]["uscc"] == uscc]
    out["insp_1y"] = float(since(i["inspected_on"], 365).sum())
    return out


def store_frames(session: Session, frames: dict[str, pd.DataFrame], *, known_on: dt.date) -> None:
    """Insert frames as first versions through the tables (one load), for benches and tests."""
    load = Load(
        loaded_at=dt.datetime.now(dt.UTC), known_on=known_on, source="bench", files={}, counts={}
    )
    session.add(load)
    session.flush()
    for name, frame in frames.items():
        if frame.empty:
            continue
        table = TABLES[name]
        cells = frame[[c for c in table.names if c in frame.columns]].astype(object)
        for col in table.columns:
            if col.kind is Kind.DATE and col.name in cells.columns:
                cells[col.name] = [None if pd.isna(v) else v.date() for v in frame[col.name]]
        cells = cells.where(frame[cells.columns].notna(), None)
        cells["known_from"] = cells[table.known_on]
        cells["content_hash"] = "0" * 32
        cells["load_id"] = load.load_id
        session.execute(insert(HISTORY_TABLES[name]), cells.to_dict("records"))


def online(
    url: str, *, repeats: int, enterprises: int = 300, years: int = 20
) -> tuple[float, float, int]:
    """The busiest enterprise of a simulated province with ``years`` of history, read from the
    database at ``url`` and featurised, ``repeats`` times: (p50 ms, p99 ms, its versions)."""
    engine = make_engine(url) if url.startswith("sqlite") else _fresh_schema(url)
    upgrade(engine)
    world = simulate(enterprises, years, seed=4)
    with Session(engine) as session, session.begin():
        store_frames(session, world.tables, known_on=world.end)
    counts = pd.concat([f["uscc"] for n, f in world.tables.items() if n != "enterprises"])
    uscc = counts.value_counts().index[0]
    pair = pd.DataFrame({"uscc": [uscc], "as_of": [pd.Timestamp(world.end)]})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with Session(engine) as session:
            features = as_of(read_history(session, usccs=[uscc]), pair)
        times.append((time.perf_counter() - start) * 1000)
    engine.dispose()
    assert features["employees"].notna().all()
    versions = int((counts == uscc).sum()) + 1
    return float(np.percentile(times[5:], 50)), float(np.percentile(times[5:], 99)), versions


def _fresh_schema(url: str, schema: str = "bench_features"):  # type: ignore[no-untyped-def]
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def run(
    enterprises: int = 100_000,
    years: int = 13,
    *,
    sample: int = 100,
    repeats: int = 300,
    postgres_url: str | None = PG_URL,
) -> list[tuple[str, str]]:
    """Measure; return (figure, value) rows. Same results are asserted across the three ways."""
    rows: list[tuple[str, str]] = []
    world = simulate(enterprises, years, seed=7)
    frames = world.tables
    n_events = sum(len(f) for name, f in frames.items() if name != "enterprises")
    when = pd.Timestamp(world.end)
    pairs = pd.DataFrame({"uscc": frames["enterprises"]["uscc"], "as_of": when})
    rows.append(("features: enterprises / events", f"{enterprises:,} / {n_events:,}"))

    start = time.perf_counter()
    history = History.from_frames(frames)
    built = time.perf_counter() - start
    start = time.perf_counter()
    ours = as_of(history, pairs)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    as_of(history, pairs)
    warm = time.perf_counter() - start
    for versions in history.tables.values():
        versions._cache.clear()
    tracemalloc.start()
    as_of(history, pairs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows += [
        ("features: History.from_frames", f"{built:.2f} s"),
        ("features: as_of, first call", f"{cold:.2f} s = {n_events / cold / 1e6:.1f} M events/s"),
        ("features: as_of, again", f"{warm:.2f} s = {n_events / warm / 1e6:.1f} M events/s"),
        ("features: build + as_of", f"{n_events / (built + cold) / 1e6:.1f} M events/s"),
        ("features: as_of peak memory (tracemalloc)", f"{peak / 2**20:.0f} MiB"),
    ]

    theirs, loaded, queried = duckdb_features(frames, pairs, DAYS_SINCE_CAP)
    subset = list(theirs.columns)
    np.testing.assert_allclose(ours[subset].to_numpy(float), theirs.to_numpy(float), rtol=1e-9)
    rows += [
        (
            f"features: DuckDB SQL, {len(subset)} of {ours.shape[1]} features",
            f"{queried:.2f} s (+ {loaded:.2f} s loading)",
        ),
        ("features: as_of (all features) / DuckDB query", f"{cold / queried:.2f}×"),
        (
            "features: (build + as_of) / (load + query)",
            f"{(built + cold) / (loaded + queried):.2f}×",
        ),
    ]

    rng = np.random.default_rng(1)
    chosen = rng.choice(len(pairs), min(sample, len(pairs)), replace=False)
    start = time.perf_counter()
    naive = pd.DataFrame(
        [naive_features(frames, pairs["uscc"].iloc[k], when, DAYS_SINCE_CAP) for k in chosen]
    )
    per_enterprise = (time.perf_counter() - start) / len(chosen)
    np.testing.assert_allclose(
        ours.iloc[chosen][subset].to_numpy(float), naive[subset].to_numpy(float), rtol=1e-9
    )
    loop = per_enterprise * enterprises
    rows += [
        (f"features: naive loop ({len(chosen)} sampled, extrapolated)", f"{loop:,.0f} s"),
        ("features: naive loop / as_of", f"{loop / cold:,.0f}×"),
    ]

    with tempfile.TemporaryDirectory() as tmp:
        online_rows = [("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        if postgres_url:
            online_rows.append(("PostgreSQL", postgres_url))
        for backend, url in online_rows:
            try:
                p50, p99, versions = online(url, repeats=repeats)
            except OperationalError as exc:  # reported in the table, not hidden
                rows.append((f"features: online, {backend}", f"not measured: {exc.orig}"))
                continue
            rows.append(
                (
                    f"features: online, {backend}, busiest of 300 over 20 y ({versions} versions)",
                    f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                )
            )
    return rows


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:3]]  # enterprises, years
    figures = run(*sizes)
    width = max(len(k) for k, _ in figures)
    for key, value in figures:
        print(f"{key:<{width}}  {value}")
