"""Scores with their evidence: probability, score, grade, points per feature, at most four
principal reasons in Chinese and English, and recourse (what would raise the score, by how
many points, and whether it changes the grade). Vectorised over rows; one row is the same call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, render
from models.policy import ScoringPolicy
from models.recourse import Action, Actions
from models.risk import RiskModel
from models.scale import published, score_from_logit


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float | str | None
    points: float  # negative: what the feature costs against the average enterprise
    zh: str
    en: str
    code: int = 0  # the catalogue's stable reason code
    expected: float | None = None  # what the enterprise's peers have, for a count judged so


@dataclass(frozen=True)
class Recourse:
    action: str
    zh: str
    en: str
    points: int  # whole points gained
    grade_after: str
    changes_grade: bool


@dataclass
class Scored:
    """Batch result, column by column; rows in the input's order. ``reasons_of(i)`` and
    ``recourse_of(i)`` give one row's as objects."""

    probability: np.ndarray
    score: np.ndarray  # published: whole points within the policy's range
    grade: np.ndarray  # model grade, before policy overrides
    base_points: np.ndarray  # the points every enterprise starts from
    points: pd.DataFrame  # per feature; base_points + row sum = unclamped score
    # principal reasons: (rows, k), most points lost first; feature "" where there is none
    reason_feature: np.ndarray | None = None
    reason_value: np.ndarray | None = None
    reason_points: np.ndarray | None = None
    reason_zh: np.ndarray | None = None
    reason_en: np.ndarray | None = None
    reason_expected: np.ndarray | None = None  # peers' expected count; NaN when not judged so
    # recourse, per action: whole points gained (0: not offered), grade after, sentences
    recourse: dict[str, RecourseColumns] = field(default_factory=dict)
    # the conduct's odds against an average enterprise of the same exposure: exp(points lost
    # or gained / factor), what the tariff's conduct factor prices
    relative_risk: np.ndarray | None = None

    def reasons_of(self, i: int) -> list[Reason]:
        if self.reason_feature is None:
            return []
        assert self.reason_value is not None and self.reason_points is not None
        assert self.reason_zh is not None and self.reason_en is not None
        expected = self.reason_expected
        return [
            Reason(
                f,
                _value(self.reason_value[i, j]),
                float(self.reason_points[i, j]),
                self.reason_zh[i, j],
                self.reason_en[i, j],
                CATALOGUE[f].code,
                None if expected is None else _value(float(expected[i, j])),  # type: ignore[arg-type]
            )
            for j, f in enumerate(self.reason_feature[i])
            if f
        ]

    def recourse_of(self, i: int) -> list[Recourse]:
        items = [
            Recourse(
                action,
                c.zh[i],
                c.en[i],
                int(c.points[i]),
                str(c.grade_after[i]),
                bool(c.grade_after[i] != self.grade[i]),
            )
            for action, c in self.recourse.items()
            if c.points[i] >= 1
        ]
        return sorted(items, key=lambda r: -r.points)

    def take(self, rows: np.ndarray) -> Scored:
        """The rows ``rows`` (positions), in that order, as a batch of their own."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return Scored(
            probability=self.probability[rows],
            score=self.score[rows],
            grade=self.grade[rows],
            base_points=self.base_points
            if np.ndim(self.base_points) == 0
            else self.base_points[rows],
            points=pd.DataFrame(  # as .iloc[rows], in a third of the time
                self.points.to_numpy()[rows],
                columns=self.points.columns,
                index=self.points.index[rows],
                copy=False,
            ),
            reason_feature=pick(self.reason_feature),
            reason_value=pick(self.reason_value),
            reason_points=pick(self.reason_points),
            reason_zh=pick(self.reason_zh),
            reason_en=pick(self.reason_en),
            reason_expected=pick(self.reason_expected),
            relative_risk=pick(self.relative_risk),
            recourse={
                k: RecourseColumns(c.points[rows], c.grade_after[rows], c.zh[rows], c.en[rows])
                for k, c in self.recourse.items()
            },
        )

    def changes_grade(self) -> np.ndarray:
        """Per row: whether some recourse action changes the grade."""
        out = np.zeros(len(self.score), dtype=bool)
        for c in self.recourse.values():
            out |= (c.points >= 1) & (c.grade_after != self.grade)
        return out


@dataclass
class RecourseColumns:
    points: np.ndarray  # int, 0 where the action is not offered
    grade_after: np.ndarray
    zh: np.ndarray
    en: np.ndarray


def _value(x: object) -> float | str | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return x if isinstance(x, str) else float(x)  # type: ignore[arg-type]


def grades(policy: ScoringPolicy, score: np.ndarray) -> np.ndarray:
    cuts = np.array([g.min_score for g in policy.grades])  # falling, A first
    labels = np.array([g.grade for g in policy.grades])
    return labels[np.argmax(score[:, None] >= cuts[None, :], axis=1)]


def row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum, added column by column from the left: the same bits whatever the number
    of rows (numpy's ``sum(axis=1)`` orders its additions by the array's shape and layout, so a
    row scored alone and in a batch could differ in the last place)."""
    total = np.zeros(values.shape[0])
    for j in range(values.shape[1]):
        total += values[:, j]
    return total


def explain(
    model: RiskModel,
    policy: ScoringPolicy,
    actions: Actions,
    X: pd.DataFrame,
    *,
    with_reasons: bool = True,
) -> Scored:
    scale = policy.scale
    base, contrib = model.contributions(X)
    logit = base + row_sums(contrib.to_numpy())  # the full risk: what insurance prices
    context = set(policy.conduct.context)
    conduct = contrib[[c for c in contrib.columns if c not in context]] if context else contrib
    # the score: the contributions of conduct only; context sets the peer baseline
    judged = base + row_sums(conduct.to_numpy()) if context else logit
    score = published(score_from_logit(judged, scale), scale)
    grade = grades(policy, score)
    pts = pd.DataFrame(
        np.multiply(conduct.to_numpy(), -scale.factor, order="F"),
        columns=conduct.columns,
        index=X.index,
        copy=False,
    )  # points per feature: models.scale.points, kept column-major
    scored = Scored(
        probability=1.0 / (1.0 + np.exp(-logit)),
        score=score,
        grade=grade,
        base_points=score_from_logit(base, scale),
        points=pts,
        relative_risk=np.exp(judged - base),
    )
    if with_reasons:
        _reasons(scored, X, policy.reasons.max_reasons, model.expected(X), _shares(model))
        scored.recourse = _recourse(model, policy, actions, X, judged)
    return scored


def judged_logit(model: RiskModel, policy: ScoringPolicy, X: pd.DataFrame) -> np.ndarray:
    """The log-odds the score is read from: the model's, without the contributions of the
    policy's context features (the full log-odds when the policy names none)."""
    base, contrib = model.contributions(X)
    kept = [c for c in contrib.columns if c not in set(policy.conduct.context)]
    return base + row_sums(contrib[kept].to_numpy())


def credit_score(model: RiskModel, policy: ScoringPolicy, X: pd.DataFrame) -> np.ndarray:
    """The published score of each row of ``X`` (before any override)."""
    return published(score_from_logit(judged_logit(model, policy, X), policy.scale), policy.scale)


def _shares(model: RiskModel) -> frozenset[str]:
    """The counts the model judges out of a denominator (late out of due)."""
    exposure = getattr(model, "exposure_", None)
    if exposure is None:
        return frozenset()
    return frozenset(name for name, m in exposure.models.items() if m.per)


def _rendered(name: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(zh, en) sentences of feature ``name`` for each of ``values``, rendered once per distinct
    value."""
    inverse, distinct = pd.factorize(values, use_na_sentinel=False)
    zh = np.array([render(name, _value(v), "zh") for v in distinct], dtype=object)
    en = np.array([render(name, _value(v), "en") for v in distinct], dtype=object)
    return zh[inverse], en[inverse]


def _reasons(
    scored: Scored,
    X: pd.DataFrame,
    k: int,
    expected: dict[str, np.ndarray] | None = None,
    shares: frozenset[str] = frozenset(),
) -> None:
    work = np.array(scored.points.to_numpy(), order="C")  # rows contiguous, and ours to change
    n, k = len(work), min(k, work.shape[1])
    rows = np.arange(n)
    order = np.empty((n, k), dtype=np.int64)  # most points lost first; ties: the first feature
    lost = np.empty((n, k))
    for j in range(k):  # k passes of argmin beat a per-row partition of a short row
        order[:, j] = work.argmin(axis=1)
        lost[:, j] = work[rows, order[:, j]]
        work[rows, order[:, j]] = np.inf
    principal = lost < -0.5  # costing less than a point is not a principal reason
    names = list(scored.points.columns)
    # the principal cells, grouped by feature: each feature's sentences are made in one go
    cells = np.flatnonzero(principal.ravel())
    features = order.ravel()[cells]
    by_feature = np.argsort(features, kind="stable")
    cells, features = cells[by_feature], features[by_feature]
    bounds = np.searchsorted(features, np.arange(len(names) + 1))
    value = np.full(order.size, None, dtype=object)
    peers = np.full(order.size, np.nan)
    zh = np.full(order.size, "", dtype=object)
    en = np.full(order.size, "", dtype=object)
    for j, name in enumerate(names):
        at = cells[bounds[j] : bounds[j + 1]]
        if not len(at):
            continue
        column = X[name]
        column = column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column
        row_values = column.to_numpy()[at // k]
        value[at] = row_values
        zh[at], en[at] = _rendered(name, row_values)
        if expected and name in expected:  # a count judged against its peers says so
            peers[at] = np.round(expected[name][at // k], 2)
            zh[at], en[at] = _with_peers(zh[at], en[at], peers[at], out_of=name in shares)
    scored.reason_feature = np.where(principal, np.array(names, dtype=object)[order], "")
    scored.reason_value = value.reshape(order.shape)
    scored.reason_points = np.where(principal, np.round(lost, 1), 0.0)
    scored.reason_zh = zh.reshape(order.shape)
    scored.reason_en = en.reshape(order.shape)
    scored.reason_expected = peers.reshape(order.shape)


def _peers(expected: float) -> str:
    """The peers' expected count as people read it: two decimals below one (0.04, not 0.0)."""
    return f"{expected:.2f}" if expected < 1 else f"{expected:.1f}"


def _with_peers(
    zh: np.ndarray, en: np.ndarray, expected: np.ndarray, *, out_of: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The sentences with the peers' expected count after them, made once per distinct pair;
    ``out_of``: the count is out of the enterprise's own denominator (late of those due), so
    the peers are taken with as many."""
    keys = pd.MultiIndex.from_arrays([zh, en, expected])
    inverse, distinct = keys.factorize()
    zh_peers, en_peers = (
        (
            "同行业同规模企业在同样多项到期时平均",
            "enterprises of your trade and size with as many due: ",
        )
        if out_of
        else ("同行业同规模企业平均", "enterprises of your trade and size: ")
    )
    zh_out = np.array([f"{z}（{zh_peers}{_peers(e)}）" for z, _, e in distinct], dtype=object)
    en_out = np.array(
        [f"{t} ({en_peers}{_peers(e)} on average)" for _, t, e in distinct], dtype=object
    )
    return zh_out[inverse], en_out[inverse]


def _recourse(
    model: RiskModel,
    policy: ScoringPolicy,
    actions: Actions,
    X: pd.DataFrame,
    logit: np.ndarray,
) -> dict[str, RecourseColumns]:
    scale = policy.scale
    n = len(X)
    now = published(score_from_logit(logit, scale), scale)
    out: dict[str, RecourseColumns] = {}
    used = set(model.features_)
    afters: dict[str, tuple[frozenset[str], pd.DataFrame, np.ndarray]] = {}
    for action in actions.actions:
        if not action.touches & used:
            continue
        rows = np.flatnonzero(action.applies(X))
        gained = np.zeros(n, dtype=int)
        after = np.full(n, "", dtype=object)
        zh = np.full(n, "", dtype=object)
        en = np.full(n, "", dtype=object)
        if len(rows):
            needed = action.touches | set(action.subtract.values()) | set(action.placeholders)
            needed |= set(model.exposure_inputs())  # counts are judged against their peers
            if model.steps_ is None:  # a model with interactions re-predicts from every feature
                needed = set(X.columns)
            before = X[[c for c in X.columns if c in needed]].iloc[rows]
            changed = action.apply(before)
            delta = model.logit_change(before, changed, action.touches)
            new = published(score_from_logit(logit[rows] + delta, scale), scale)
            gained[rows] = np.maximum(new - now[rows], 0)
            # an action that would change the same records as one offered before is not offered
            # again ("rectify the 2 overdue" and "rectify all 2 open" are one action)
            touched = sorted(action.touches & set(X.columns))
            for key, (earlier, their, their_rows) in afters.items():
                if earlier != frozenset(touched):
                    continue
                common, mine, theirs = np.intersect1d(rows, their_rows, return_indices=True)
                same = np.isclose(
                    changed[touched].to_numpy(float)[mine],
                    their[touched].to_numpy(float)[theirs],
                    equal_nan=True,
                ).all(axis=1)
                same &= out[key].points[common] >= 1
                gained[common[same]] = 0
            afters[action.id] = (frozenset(touched), changed, rows)
            after[rows] = grades(policy, new)
            named = [f for f in action.placeholders if f in X.columns]
            zh[rows], en[rows] = _action_texts(action, before[named])
        out[action.id] = RecourseColumns(gained, after, zh, en)
    return out


def _action_texts(action: Action, values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The action's sentences for each row of ``values`` (the features they name), made once
    per distinct row."""
    names = list(values.columns)
    if names:
        keys = pd.MultiIndex.from_frame(values.fillna(0).astype(float))
        inverse, distinct = keys.factorize()
        rows = [pd.Series(dict(zip(names, key, strict=True)), dtype=object) for key in distinct]
    else:
        inverse, rows = np.zeros(len(values), dtype=np.int64), [pd.Series(dtype=object)]
    zh = np.array([action.text(r, "zh") for r in rows], dtype=object)
    en = np.array([action.text(r, "en") for r in rows], dtype=object)
    return zh[inverse], en[inverse]
