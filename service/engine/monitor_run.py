"""Gathering what the monitor judges, from the event store, the decision ledger and the
champion's training run: the closed books (every enterprise scored by the champion as of each
quarter start whose 12-month outcome window has closed, with the responsible accidents known on
the report's date), the grades on the migration's two dates, the training data and today's
features for the PSI, and the priced policies whose period has closed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.pit import as_of as features_as_of
from features.store import History, read_history
from features.training import as_of_grid
from models.explain import explain
from models.monitor.policy import MonitorPolicy
from models.monitor.report import Inputs, Report, build
from registry.index import index_for
from service.engine.decisions import Scorer, batch_of, final_grades, final_scores, grave_accidents
from service.store.tables import Decision

Say = Callable[[str], None]


class MonitorError(ValueError):
    """The report cannot be made as asked (dates, no closed book); the message says why."""


@dataclass(frozen=True)
class Scoring:
    """One date's scoring: features, probabilities, final scores and grades."""

    usccs: list[str]
    X: pd.DataFrame
    probability: np.ndarray
    score: np.ndarray
    model_score: np.ndarray
    grade: np.ndarray


def score_day(
    session: Session, scorer: Scorer, history: History, day: dt.date, usccs: list[str]
) -> Scoring:
    """The champion's decisions as of ``day`` (overrides applied), keeping the features."""
    frame = pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp(day)})
    X = features_as_of(history, frame)
    grave = grave_accidents(history, usccs, day, scorer.policy.overrides.larger_accident_months)
    batch = batch_of(scorer, X, usccs=usccs, as_of=day, listings=index_for(session), grave=grave)
    grade, _ = final_grades(scorer, batch)
    return Scoring(
        usccs,
        X,
        batch.scored.probability,
        final_scores(scorer, batch, grade),
        batch.scored.score,
        grade,
    )


def outcomes(
    history: History, usccs: list[str], start: dt.date, end: dt.date, known_on: dt.date
) -> np.ndarray:
    """1 where a responsible accident occurred in (start, end], as known on ``known_on``."""
    known = history.table_at("accidents", known_on)
    if not len(known):
        return np.zeros(len(usccs), dtype=np.int8)
    occurred = pd.to_datetime(known["occurred_on"])
    hit = (
        known["responsible"].astype(bool)
        & (occurred > pd.Timestamp(start))
        & (occurred <= pd.Timestamp(end))
    )
    found = set(known.loc[hit.to_numpy(), "uscc"])
    return np.fromiter((u in found for u in usccs), dtype=np.int8, count=len(usccs))


def book_dates(policy: MonitorPolicy, since: dt.date, as_of: dt.date) -> list[dt.date]:
    """Book dates from ``since`` whose outcome window closed by ``as_of``."""
    last = (pd.Timestamp(as_of) - pd.DateOffset(months=policy.window.horizon_months)).date()
    return [d.date() for d in pd.date_range(since, last, freq=policy.window.freq)]


def training_dates(tracking_uri: str, run_id: str) -> tuple[str, str] | None:
    """The first and last as-of dates the champion was trained on (its run's parameter)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        params = MlflowClient(tracking_uri=tracking_uri).get_run(run_id).data.params
    except MlflowException:
        return None
    value = params.get("train_dates")
    if not value or "…" not in value:
        return None
    first, last = value.split("…")
    return first, last


def gather(
    session: Session,
    scorer: Scorer,
    policy: MonitorPolicy,
    *,
    as_of: dt.date,
    since: dt.date | None,
    tracking_uri: str,
    say: Say = lambda _: None,
) -> Report:
    if since is None:
        since = (pd.Timestamp(as_of) - pd.DateOffset(years=policy.window.default_years)).date()
    if since >= as_of:
        raise MonitorError(f"--since {since} must be before --as-of {as_of}")
    dates = book_dates(policy, since, as_of)
    if not dates:
        raise MonitorError(
            f"no book between {since} and {as_of} has a closed "
            f"{policy.window.horizon_months}-month outcome window"
        )
    say("reading the event store …")
    history = read_history(session)
    grid = as_of_grid(history, dates[0], dates[-1], policy.window.freq)
    parts = []
    for day in dates:
        codes = list(grid.loc[grid["as_of"] == pd.Timestamp(day), "uscc"])
        if not codes:
            continue
        say(f"book {day}: scoring {len(codes):,} enterprises …")
        s = score_day(session, scorer, history, day, codes)
        end = (pd.Timestamp(day) + pd.DateOffset(months=policy.window.horizon_months)).date()
        parts.append(
            pd.DataFrame(
                {
                    "book": day,
                    "uscc": codes,
                    "p": s.probability,
                    "score": s.score,
                    "grade": s.grade,
                    "y": outcomes(history, codes, day, end, as_of),
                }
            )
        )
    if not parts:
        raise MonitorError(f"no enterprise was known on any book date from {since} to {as_of}")
    books = pd.concat(parts, ignore_index=True)

    say(f"scoring {as_of} for the migration and the drift …")
    today_codes = list(history.table_at("enterprises", as_of)["uscc"])
    now = score_day(session, scorer, history, as_of, today_codes)
    first = dates[0]
    then_codes = list(grid.loc[grid["as_of"] == pd.Timestamp(first), "uscc"])
    then = books[books["book"] == first].set_index("uscc")["grade"]
    if not len(then):
        then = pd.Series(
            score_day(session, scorer, history, first, then_codes).grade, index=then_codes
        )

    model = scorer.loaded.model
    features = tuple(str(f) for f in model.features_)
    current = now.X.assign(score=now.model_score)
    trained = training_dates(tracking_uri, scorer.loaded.run_id)
    if trained is None:
        say("the champion's run names no training dates: PSI against nothing")
        reference = current.iloc[:0]
    else:
        say(f"rebuilding the training data {trained[0]}…{trained[1]} for the PSI …")
        ref_grid = as_of_grid(history, trained[0], trained[1], "QS")
        if len(ref_grid) > policy.psi.reference_rows:
            ref_grid = ref_grid.sample(policy.psi.reference_rows, random_state=0)
        X_ref = features_as_of(history, ref_grid.reset_index(drop=True))
        scored = explain(model, scorer.policy, scorer.actions, X_ref, with_reasons=False)
        reference = X_ref.assign(score=scored.score)

    inputs = Inputs(
        books=books,
        grades_from=then,
        grades_to=pd.Series(now.grade, index=now.usccs),
        reference=reference,
        current=current,
        policies=priced_policies(session, history, as_of),
        features=features,
        trained_until=trained[1] if trained else None,
    )
    versions = {
        **scorer.versions,
        "monitor_policy": policy.label,
        "model_run": scorer.loaded.run_id,
        "training_dates": "…".join(trained) if trained else "unknown",
    }
    return build(
        inputs,
        policy,
        as_of=as_of.isoformat(),
        since=since.isoformat(),
        migration_dates=(first.isoformat(), as_of.isoformat()),
        versions=versions,
    )


def priced_policies(session: Session, history: History, as_of: dt.date) -> pd.DataFrame | None:
    """Quotes in the decision ledger whose period ended by ``as_of``, with their losses: every
    death or serious injury in an accident of the enterprise that occurred in the period (known
    on ``as_of``) at the death/disability insured amount per person. None when there is none."""
    rows = []
    for output in session.scalars(select(Decision.output).where(Decision.kind == "quote")):
        quotes = output.get("quotes", [output]) if isinstance(output, dict) else []
        for q in quotes:
            if not isinstance(q, dict) or "premium_cny" not in q or "period_end" not in q:
                continue
            if dt.date.fromisoformat(str(q["period_end"])) > as_of:
                continue
            rows.append(
                {
                    "uscc": q["uscc"],
                    "start": pd.Timestamp(q["period_start"]),
                    "end": pd.Timestamp(q["period_end"]),
                    "band_factor": float(q.get("product_banded", 1.0)),
                    "premium_cny": float(q["premium_cny"]),
                    "amount": float(q.get("insured_amount_cny", 0.0)),
                }
            )
    if not rows:
        return None
    policies = pd.DataFrame(rows).drop_duplicates(["uscc", "start", "end"], keep="last")
    known = history.table_at("accidents", as_of)
    victims = known.assign(
        people=known["deaths"].astype(float) + known["serious_injuries"].astype(float),
        occurred=pd.to_datetime(known["occurred_on"]),
    )[["uscc", "occurred", "people"]]
    joined = policies.reset_index().merge(victims, on="uscc", how="left")
    inside = (joined["occurred"] >= joined["start"]) & (joined["occurred"] <= joined["end"])
    people = joined["people"].where(inside, 0.0).fillna(0.0).groupby(joined["index"]).sum()
    policies["loss_cny"] = people.reindex(policies.index, fill_value=0.0) * policies["amount"]
    return policies
