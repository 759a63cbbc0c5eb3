"""Decisions composed where the design puts them: the model's score, then the policy's
overrides (an entry in force on a joint-punishment list forces a grade; a 较大 or graver
accident in the last months caps it), with the listings in force as evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from features.catalogue import CATALOGUE
from features.grades import GRADE_ORDER, accident_grades
from features.pit import as_of as features_as_of
from features.store import History, read_history
from models.champion import Loaded
from models.explain import Reason, Scored, explain
from models.policy import ScoringPolicy
from models.recourse import Actions
from registry.index import InForce, by_code, index_for

GRADE_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


@dataclass
class Override:
    code: str  # "listed" or "grave_accident"
    grade: str  # the grade it forces or caps at
    zh: str
    en: str


@dataclass
class ScoreDecision:
    uscc: str
    as_of: dt.date
    probability: float
    score: int
    model_grade: str
    grade: str
    reasons: list[dict[str, Any]]
    recourse: list[dict[str, Any]]
    recourse_note: dict[str, str] | None  # said plainly when nothing actionable changes the grade
    overrides: list[Override]
    listings: list[InForce]
    model_version: str
    policy_version: str
    versions: dict[str, str] = field(default_factory=dict)
    model_score: int | None = None  # before an override held the score within its grade

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.model_score is None:  # decisions of policies before 2026.2 had no such field
            del out["model_score"]
        return out


@dataclass(frozen=True)
class Scorer:
    """What a score needs: the champion model and the policy data, loaded once."""

    loaded: Loaded
    policy: ScoringPolicy
    actions: Actions
    catalogue_version: str

    @property
    def versions(self) -> dict[str, str]:
        return {
            "model": f"{self.loaded.name}/{self.loaded.version}",
            "scoring_policy": f"{self.policy.version} ({self.policy.sha256[:12]})",
            "recourse_actions": f"{self.actions.version} ({self.actions.sha256[:12]})",
            "catalogue": self.catalogue_version,
        }


def grave_accidents(
    history: History, usccs: Sequence[str], as_of: dt.date, months: int
) -> set[str]:
    """Codes with a 较大-or-graver accident that occurred within ``months`` before ``as_of`` and
    was known by then."""
    known = history.table_at("accidents", as_of) if "accidents" in history.tables else None
    if known is None or not len(known):
        return set()
    start = pd.Timestamp(as_of) - pd.DateOffset(months=months)
    occurred = pd.to_datetime(known["occurred_on"])
    grave = accident_grades(known).cat.codes >= GRADE_ORDER.index("larger")
    recent = (occurred > start) & (occurred <= pd.Timestamp(as_of)) & grave.to_numpy()
    return set(known.loc[recent, "uscc"]) & set(usccs)


@dataclass
class Batch:
    """A vectorised scoring of many enterprises: the model's results and the overrides' inputs."""

    usccs: list[str]
    as_of: dt.date
    scored: Scored
    listings: dict[str, list[InForce]]
    grave: set[str]


class Listings(Protocol):
    """Where entries in force come from: the registry index (:func:`index_for`) or, away from
    the database, a snapshot of it (:class:`registry.index.InForceOn`)."""

    def in_force(self, usccs: Sequence[str], as_of: dt.date) -> list[InForce]: ...


def batch_of(
    scorer: Scorer,
    X: pd.DataFrame,
    *,
    usccs: list[str],
    as_of: dt.date,
    listings: Listings,
    grave: set[str],
) -> Batch:
    """The model's results for features ``X`` (rows: ``usccs``) and the overrides' inputs."""
    scored = explain(scorer.loaded.model, scorer.policy, scorer.actions, X)
    return Batch(usccs, as_of, scored, by_code(listings.in_force(usccs, as_of)), grave)


def score_batch(
    session: Session | None,
    scorer: Scorer,
    *,
    as_of: dt.date,
    usccs: Sequence[str] | None = None,
    history: History | None = None,
    listings: Listings | None = None,
) -> Batch:
    """Score ``usccs`` (default: every enterprise known at ``as_of``) with reasons and recourse,
    and gather what the overrides need: listings in force and recent grave accidents. Without
    a session, ``history`` and ``listings`` must be given."""
    if session is None and (history is None or listings is None):
        raise ValueError("score_batch without a session needs the history and the listings")
    if history is None:
        assert session is not None
        history = read_history(session, usccs=usccs)
    if usccs is None:
        usccs = list(history.table_at("enterprises", as_of)["uscc"])
    usccs = list(usccs)
    X = features_as_of(history, pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp(as_of)}))
    grave = grave_accidents(history, usccs, as_of, scorer.policy.overrides.larger_accident_months)
    if listings is None:
        assert session is not None
        listings = index_for(session)
    return batch_of(scorer, X, usccs=usccs, as_of=as_of, listings=listings, grave=grave)


def score(
    session: Session,
    scorer: Scorer,
    *,
    as_of: dt.date,
    usccs: Sequence[str] | None = None,
    history: History | None = None,
) -> list[ScoreDecision]:
    """One decision object per enterprise (the service's answer), overrides applied."""
    return decisions_of(
        scorer, score_batch(session, scorer, as_of=as_of, usccs=usccs, history=history)
    )


def decisions_of(scorer: Scorer, b: Batch) -> list[ScoreDecision]:
    """The batch's decisions, one per enterprise in its order, overrides applied."""
    return [
        _decision(scorer, b.scored, i, u, b.as_of, b.listings.get(u, []), u in b.grave)
        for i, u in enumerate(b.usccs)
    ]


def _decision(
    scorer: Scorer,
    scored: Scored,
    i: int,
    uscc: str,
    as_of: dt.date,
    listed: list[InForce],
    grave: bool,
) -> ScoreDecision:
    rules = scorer.policy.overrides
    model_grade = str(scored.grade[i])
    grade, overrides = model_grade, []
    if grave and GRADE_RANK[grade] < GRADE_RANK[rules.larger_accident_cap]:
        grade = rules.larger_accident_cap
        months = rules.larger_accident_months
        overrides.append(
            Override(
                "grave_accident",
                grade,
                f"近{months}个月内发生较大及以上生产安全事故，等级最高为{grade}",
                f"a larger (较大) or worse accident within {months} months: at most {grade}",
            )
        )
    if listed:
        grade = rules.listed_grade
        rules_in_force = ", ".join(sorted({f"{x.rule} ({x.policy})" for x in listed}))
        overrides.append(
            Override(
                "listed",
                grade,
                f"列入失信联合惩戒名单（{rules_in_force}），等级为{grade}",
                f"on a joint-punishment list ({rules_in_force}): grade {grade}",
            )
        )
    model_score = int(scored.score[i])
    score = held(scorer.policy, model_score, grade)
    conduct = bool(scorer.policy.conduct.context)
    return ScoreDecision(
        uscc=uscc,
        as_of=as_of,
        probability=float(scored.probability[i]),
        score=score,
        model_grade=model_grade,
        grade=grade,
        reasons=[_reason(r, conduct) for r in scored.reasons_of(i)],
        recourse=[asdict(r) for r in scored.recourse_of(i)],
        recourse_note=_note(scorer, scored, i, listed),
        overrides=overrides,
        listings=listed,
        model_version=scorer.loaded.version,
        policy_version=scorer.policy.version,
        versions=scorer.versions,
        model_score=model_score if scorer.policy.overrides.score_within_grade else None,
    )


def held(policy: ScoringPolicy, score: int, grade: str) -> int:
    """The published score of a decision whose grade is ``grade``: within that grade's range when
    the policy says so (a listed enterprise's D is not shown beside a B's score)."""
    if not policy.overrides.score_within_grade:
        return score
    lo, hi = policy.score_range(grade)
    return int(min(max(score, lo), hi))


def _reason(reason: Reason, conduct: bool) -> dict[str, Any]:
    """A reason as decisions record it: with its code and the peers' expected count from the
    conduct score on (2026.2), as before for the policies before it."""
    out = asdict(reason)
    if not conduct:
        del out["code"], out["expected"]
    return out


def _note(scorer: Scorer, scored: Scored, i: int, listed: list[InForce]) -> dict[str, str] | None:
    """Said plainly when nothing the enterprise can do now changes its grade."""
    if listed:
        grade = scorer.policy.overrides.listed_grade
        dates = sorted(x.earliest_repair_on for x in listed if x.earliest_repair_on)
        when_zh = f"，最早可于{dates[-1]}申请信用修复" if dates else ""
        when_en = f"; credit repair may be applied for from {dates[-1]}" if dates else ""
        return {
            "zh": f"列入失信联合惩戒名单期间等级为{grade}，移出名单前无法改变{when_zh}。",
            "en": f"While on a joint-punishment list the grade is {grade}{when_en}.",
        }
    if any(r.changes_grade for r in scored.recourse_of(i)):
        return None
    messages = scorer.actions.messages
    if not scored.reasons_of(i) and "clean_record_zh" in messages:
        return {"zh": messages["clean_record_zh"], "en": messages["clean_record_en"]}
    return {"zh": messages["no_grade_change_zh"], "en": messages["no_grade_change_en"]}


def final_scores(scorer: Scorer, batch: Batch, grade: np.ndarray) -> np.ndarray:
    """The published score of each decision: held within its final ``grade``'s range (from
    :func:`final_grades`) when the policy says so (the same as :func:`held`, vectorised)."""
    score = batch.scored.score.astype(np.int64)
    if not scorer.policy.overrides.score_within_grade or not len(score):
        return score
    bounds = {g.grade: scorer.policy.score_range(g.grade) for g in scorer.policy.grades}
    lo = np.fromiter((bounds[g][0] for g in grade), np.int64, len(grade))
    hi = np.fromiter((bounds[g][1] for g in grade), np.int64, len(grade))
    return np.clip(score, lo, hi)


def final_grades(scorer: Scorer, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised overrides: (grade, override codes joined by ';') per enterprise."""
    rules = scorer.policy.overrides
    grade = batch.scored.grade.astype(object).copy()
    codes = np.full(len(grade), "", dtype=object)
    grave = np.isin(batch.usccs, list(batch.grave))
    rank = np.vectorize(GRADE_RANK.__getitem__, otypes=[int])
    capped = grave & (rank(grade) < GRADE_RANK[rules.larger_accident_cap]) if len(grade) else grave
    grade[capped] = rules.larger_accident_cap
    codes[capped] = "grave_accident"
    listed = np.isin(batch.usccs, list(batch.listings))
    grade[listed] = rules.listed_grade
    codes[listed] = np.where(codes[listed] == "", "listed", codes[listed] + ";listed")
    return grade, codes


def frame(scorer: Scorer, batch: Batch, *, reasons: int = 4, actions: int = 2) -> pd.DataFrame:
    """Batch output, one flat row per enterprise: the decision, its principal reasons and its
    best recourse actions as columns, and the versions that made it."""
    s = batch.scored
    grade, codes = final_grades(scorer, batch)
    out = pd.DataFrame(
        {
            "uscc": batch.usccs,
            "as_of": batch.as_of,
            "probability": s.probability,
            "score": final_scores(scorer, batch, grade),
            "model_score": s.score,
            "model_grade": s.grade,
            "grade": grade,
            "overrides": codes,
            "listed_rules": [
                ";".join(sorted({x.rule for x in batch.listings.get(u, [])})) for u in batch.usccs
            ],
        }
    )
    if s.reason_feature is not None:
        assert s.reason_points is not None and s.reason_zh is not None
        assert s.reason_en is not None
        for j in range(min(reasons, s.reason_feature.shape[1])):
            out[f"reason{j + 1}_feature"] = s.reason_feature[:, j]
            out[f"reason{j + 1}_code"] = [
                CATALOGUE[f].code if f else 0 for f in s.reason_feature[:, j]
            ]
            out[f"reason{j + 1}_points"] = s.reason_points[:, j]
            out[f"reason{j + 1}_zh"] = s.reason_zh[:, j]
            out[f"reason{j + 1}_en"] = s.reason_en[:, j]
    if s.recourse:
        ids = np.array(list(s.recourse), dtype=object)
        gains = np.column_stack([c.points for c in s.recourse.values()])
        order = np.argsort(-gains, axis=1, kind="stable")[:, :actions]
        rows = np.arange(len(gains))[:, None]
        for j in range(order.shape[1]):
            pick = order[:, j]
            gain = gains[rows[:, 0], pick]
            offered = gain >= 1

            def column(field_name: str, pick: np.ndarray = pick) -> np.ndarray:
                stacked = np.column_stack([getattr(c, field_name) for c in s.recourse.values()])
                return stacked[rows[:, 0], pick]

            out[f"recourse{j + 1}_action"] = np.where(offered, ids[pick], "")
            out[f"recourse{j + 1}_points"] = np.where(offered, gain, 0)
            out[f"recourse{j + 1}_grade_after"] = np.where(offered, column("grade_after"), "")
            out[f"recourse{j + 1}_zh"] = np.where(offered, column("zh"), "")
            out[f"recourse{j + 1}_en"] = np.where(offered, column("en"), "")
    for name, value in scorer.versions.items():
        out[f"{name}_version"] = value
    out["model_version"] = scorer.loaded.version
    return out
