"""``safecredit demo``: the whole product on a laptop, from a simulated province.

Each step is idempotent: running the demo again reuses the province, the loaded store, the
champion model and the listings already entered.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from experiments.simulate import simulate, write_world
from features.catalogue import CATALOGUE_VERSION
from features.ingest import ingest
from features.store import read_history
from features.summary import summarise
from models.pipeline import train
from models.policy import load_policy
from models.recourse import load_actions
from models.tracking import load
from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import act, propose
from registry.tables import Entry
from service.engine.decisions import Scorer, frame, score_batch
from service.engine.keys import create_key, list_keys, revoke_key
from service.store.settings import Settings

END = dt.date(2025, 12, 31)  # the province's history ends here
AS_OF = dt.date(2026, 3, 31)  # the demo's "today": listings decided in early 2026 are in force
Say = Callable[[str], None]


def province(folder: Path, *, enterprises: int, years: int, seed: int, say: Say) -> Path:
    """Simulate the province into ``folder`` unless the same one is already there."""
    params = {"enterprises": enterprises, "years": years, "seed": seed, "end": END.isoformat()}
    marker = folder / "simulation.json"
    if marker.exists() and json.loads(marker.read_text()) == params:
        say(f"province: reusing {folder} ({enterprises:,} enterprises, {years} years, seed {seed})")
        return folder
    say(f"province: simulating {enterprises:,} enterprises over {years} years (seed {seed}) …")
    world = simulate(enterprises, years, seed, end=END, progress=True)
    write_world(world, folder, "csv")
    marker.write_text(json.dumps(params))
    return folder


def champion(settings: Settings, engine: Engine, folder: Path, say: Say) -> Scorer:
    """The champion model, trained and registered first if there is none."""
    m = settings.mlflow
    try:
        loaded = load(m.tracking_uri, m.model_name, m.alias)
        say(f"model: {m.model_name} version {loaded.version} is the {m.alias}")
    except MlflowException:
        say("model: training the risk model and its baselines (MLflow under var/) …")
        with Session(engine) as session:
            history = read_history(session)
        result = train(
            history,
            end=END,
            tracking_uri=m.tracking_uri,
            artifact_root=m.artifact_root,
            experiment=m.experiment,
            model_name=m.model_name,
            alias=m.alias,
            truth=pd.read_csv(folder / "truth.csv"),
            say=lambda s: say(f"  {s}"),
        )
        say(f"model: version {result.version} registered as {result.alias}")
        loaded = load(m.tracking_uri, m.model_name, m.alias)
    return Scorer(loaded, load_policy(), load_actions(), CATALOGUE_VERSION)


def listings(engine: Engine, say: Say) -> None:
    """Propose what the rules find; walk most proposals to publication, each by the department
    that imposed the penalty; leave a few in objection; repair none yet."""
    policy = find_policy("mem11")
    with Session(engine) as session, session.begin():
        found = evaluate(session, policy=policy, as_of=END)
        for i, p in enumerate(found):
            who = {"actor": "demo-regulator", "department": p.department}
            entry = propose(session, proposal=p, policy=policy, on=dt.date(2026, 1, 5), **who)
            act(
                session,
                entry_id=entry.entry_id,
                action="notify",
                on=dt.date(2026, 1, 6),
                reason="prior notice of reasons, basis and rights",
                **who,
            )
            if i % 7 == 6:  # the enterprise objects; the department has not answered yet
                act(
                    session,
                    entry_id=entry.entry_id,
                    action="object",
                    on=dt.date(2026, 1, 12),
                    reason="the enterprise disputes the evidence",
                    **who,
                )
                continue
            act(
                session,
                entry_id=entry.entry_id,
                action="decide",
                on=dt.date(2026, 2, 2),
                reason="decision on the serious-dishonesty list",
                **who,
            )
            act(
                session,
                entry_id=entry.entry_id,
                action="publish",
                on=dt.date(2026, 2, 5),
                reason="published on the credit platform",
                **who,
            )
        rules = Counter(e.rule for e in session.scalars(select(Entry)))
    say(
        f"registry: {len(found)} new proposals under {policy.key}; entries by rule: "
        + ", ".join(f"{r} {n}" for r, n in sorted(rules.items()))
    )


def access(engine: Engine, table: pd.DataFrame, port: int, say: Say) -> None:
    """One fresh API key per role (the previous demo keys are revoked) and the pages worth
    opening: an A-grade enterprise, a listed one, and the API reference."""
    top = table[table["grade"] == "A"].sort_values("score", ascending=False)
    listed = table[table["overrides"].str.contains("listed")]
    with Session(engine) as session, session.begin():
        # revoked after the new ones are made: the last active admin key is never revoked
        previous = [
            k.key_id
            for k in list_keys(session, include_revoked=False)
            if k.name.startswith("demo ")
        ]
        department = (
            session.scalar(select(Entry.department).where(Entry.uscc == listed["uscc"].iloc[0]))
            if len(listed)
            else None
        )
        grants = [
            ("insurer", {}),
            ("approval_office", {}),
            ("enterprise", {"uscc": top["uscc"].iloc[0]}),
            ("regulator", {"department": department}),
            ("admin", {}),
        ]
        say("API keys (Authorization: Bearer …), shown once:")
        for role, extra in grants:
            _, token = create_key(session, role=role, name=f"demo {role}", **extra)
            bound = ", ".join(f"{k} {v}" for k, v in extra.items() if v)
            say(f"  {role:<16} {token}" + (f"  ({bound})" if bound else ""))
        for key_id in previous:
            revoke_key(session, key_id=key_id)
    base = f"http://127.0.0.1:{port}"
    say("open (sign in with a regulator's or the enterprise's key):")
    say(f"  an A-grade enterprise  {base}/login?next=/enterprises/{top['uscc'].iloc[0]}")
    if len(listed):
        say(f"  a listed enterprise    {base}/login?next=/enterprises/{listed['uscc'].iloc[0]}")
    say(f"  the API reference      {base}/docs")


def run(
    engine: Engine, settings: Settings, *, enterprises: int, years: int, seed: int, say: Say = print
) -> pd.DataFrame:
    folder = province(
        settings.var_dir / "demo" / "province",
        enterprises=enterprises,
        years=years,
        seed=seed,
        say=say,
    )
    with Session(engine) as session, session.begin():
        report = ingest(session, folder, known_on=END, progress=True)
    say(
        f"ingest: {report.written:,} record versions written"
        + ("" if report.load_id else " (the store already held this extract)")
    )
    with Session(engine) as session:
        known = read_history(session).known_at(END)
    for label, value in summarise(known, as_of=END):
        say(f"  {label:<40} {value}")
    scorer = champion(settings, engine, folder, say)
    listings(engine, say)
    with Session(engine) as session:
        table = frame(scorer, score_batch(session, scorer, as_of=AS_OF))
    out = settings.var_dir / "demo" / f"scores-{AS_OF}.csv"
    table.to_csv(out, index=False)
    grades = table["grade"].value_counts().reindex(list("ABCD"), fill_value=0)
    say(
        f"scores as of {AS_OF}: {out} — grades "
        + ", ".join(f"{g} {n:,}" for g, n in grades.items())
    )
    return table
