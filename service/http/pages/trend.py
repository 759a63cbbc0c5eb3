"""The score at the ends of the last quarters, as a server-drawn SVG line (no script): the same
scoring as the page's own score (:func:`service.engine.decisions.score_batch`), once per quarter end
on which the enterprise was known."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from features.store import History
from service.engine.decisions import Scorer, decisions_of, score_batch

WIDTH, HEIGHT, PAD_X, PAD_TOP, PAD_BOTTOM = 640, 220, 44, 18, 38  # drawing units


@dataclass(frozen=True)
class Point:
    day: dt.date
    label: str  # 2025Q4
    score: int
    grade: str
    x: float
    y: float


@dataclass(frozen=True)
class Trend:
    points: list[Point]
    min_score: int
    max_score: int
    ticks: list[tuple[int, float]]  # (score, y) for the grid lines

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def quarter_ends(day: dt.date, n: int) -> list[dt.date]:
    """The last ``n`` quarter ends on or before ``day``, oldest first."""
    year, quarter = day.year, (day.month - 1) // 3 + 1
    out: list[dt.date] = []
    while len(out) < n:
        last = _quarter_end(year, quarter)
        if last <= day:
            out.append(last)
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return out[::-1]


def _quarter_end(year: int, quarter: int) -> dt.date:
    month = quarter * 3
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def trend(
    session: Session, scorer: Scorer, history: History, uscc: str, day: dt.date, *, quarters: int
) -> Trend:
    scale = scorer.policy.scale
    lo, hi = scale.min_score, scale.max_score
    known = []
    for end in quarter_ends(day, quarters):
        if (history.table_at("enterprises", end)["uscc"] == uscc).any():
            batch = score_batch(session, scorer, as_of=end, usccs=[uscc], history=history)
            known.append((end, decisions_of(scorer, batch)[0]))
    inner_w, inner_h = WIDTH - 2 * PAD_X, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(quarters - 1, 1)
    offset = quarters - len(known)  # missing early quarters leave the left empty

    def y_of(score: float) -> float:
        return PAD_TOP + inner_h * (1 - (score - lo) / (hi - lo))

    points = [
        Point(
            end,
            f"{end.year}Q{(end.month - 1) // 3 + 1}",
            d.score,
            d.grade,
            PAD_X + (offset + i) * step,
            y_of(d.score),
        )
        for i, (end, d) in enumerate(known)
    ]
    ticks = [(int(v), y_of(v)) for v in (lo, lo + (hi - lo) / 2, hi)]
    return Trend(points, lo, hi, ticks)
