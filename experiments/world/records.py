"""From simulated records to the contract's tables: what the extract on ``end`` can hold (nothing
decided, reported or rectified after it), identifiers, references and the validator's types."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.world.dates import NEVER, to_date, to_dates
from experiments.world.firms import Firms
from experiments.world.frames import conform
from experiments.world.province import Outcome
from features.contracts import PENALTY_MEASURES, REPORTING, VIOLATION_CATEGORIES


def tables(firms: Firms, out: Outcome, start: int, end: int) -> dict[str, pd.DataFrame]:
    """The extract of the history from day ``start`` to day ``end`` (inclusive)."""
    usccs = firms.uscc
    pen = out.penalties
    pen_order, pen_ids, pen_ref = _identify("PEN", pen["decided"], pen["decided"] <= end)
    penalties = conform(
        "penalties",
        uscc=usccs[pen["ent"][pen_order]],
        penalty_decision_id=pen_ids,
        decided_on=pen["decided"][pen_order],
        measure=np.array(PENALTY_MEASURES, dtype=object)[pen["measure"][pen_order]],
        amount_cny=pen["amount"][pen_order],
        fine_multiplier=np.where(pen["multiplier"] > 0, pen["multiplier"], np.nan)[pen_order],
        fulfilled_on=_until(pen["fulfilled"][pen_order], end),
        department=pen["department"][pen_order],
    )

    ins = out.inspections
    ins_order, ins_ids, ins_ref = _identify("INS", ins["day"], ins["day"] <= end)
    inspections = conform(
        "inspections",
        inspection_id=ins_ids,
        uscc=usccs[ins["ent"][ins_order]],
        inspected_on=ins["day"][ins_order],
    )

    vio = out.violations
    order, ids, _ = _identify("VIO", vio["day"], vio["day"] <= end)
    violations = conform(
        "violations",
        violation_id=ids,
        uscc=usccs[vio["ent"][order]],
        found_on=vio["day"][order],
        severity=np.where(vio["serious"][order], "serious", "general").astype(object),
        category=np.array(list(VIOLATION_CATEGORIES), dtype=object)[vio["category"][order]],
        penalty_decision_id=pen_ref(vio["penalty"][order]),
        inspection_id=ins_ref(vio["inspection"][order]),
    )

    acc = out.accidents
    order, ids, _ = _identify("ACC", acc["occurred"], acc["reported"] <= end)
    accidents = conform(
        "accidents",
        accident_id=ids,
        uscc=usccs[acc["ent"][order]],
        occurred_on=acc["occurred"][order],
        reported_on=acc["reported"][order],
        deaths=acc["deaths"][order],
        serious_injuries=acc["injuries"][order],
        direct_loss_cny=acc["loss"][order],
        reporting=np.array(REPORTING, dtype=object)[acc["reporting"][order]],
        responsible=acc["responsible"][order],
        penalty_decision_id=pen_ref(acc["penalty"][order]),
        principal_fled=acc["fled"][order],
    )

    haz = out.hazards
    # hazards found before the history are in the extract while still open at its start
    keep = (haz["found"] <= end) & ((haz["found"] >= start) | (haz["rectified"] >= start))
    order, ids, _ = _identify("HAZ", haz["found"], keep)
    hazards = conform(
        "hazards",
        hazard_id=ids,
        uscc=usccs[haz["ent"][order]],
        found_on=haz["found"][order],
        level=np.where(haz["major"][order], "major", "general").astype(object),
        due_on=haz["due"][order],  # a deadline may lie after the extract's date
        rectified_on=_until(haz["rectified"][order], end),
        found_by=np.where(haz["self_found"][order], "enterprise", "inspection").astype(object),
    )
    return {
        "enterprises": firms.frame,
        "inspections": inspections,
        "penalties": penalties,
        "violations": violations,
        "accidents": accidents,
        "hazards": hazards,
    }


def truth(firms: Firms, out: Outcome, bounds: np.ndarray, burn: int) -> pd.DataFrame:
    """One row per enterprise-year in operation at the year's start."""
    years = out.expected.shape[0]
    frames = []
    for y in range(years):
        live = out.operating[y]
        first, after = int(bounds[burn + 12 * y]), int(bounds[burn + 12 * (y + 1)])
        m = int(live.sum())
        frames.append(
            pd.DataFrame(
                {
                    "uscc": pd.Series(firms.uscc[live], dtype=object),
                    "year": np.full(m, to_date(first).year),
                    "start": np.repeat(to_dates(np.array([first])), m),
                    "end": np.repeat(to_dates(np.array([after - 1])), m),
                    "p_accident": -np.expm1(-out.expected[y][live]),
                    "expected_accidents": out.expected[y][live],
                    "responsible_accidents": out.responsible[y][live],
                    "culture": out.culture[y][live],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _until(days: np.ndarray, end: int) -> np.ndarray:
    """A completion date after the extract's date is not known yet: empty."""
    return np.where(days > end, NEVER, days)


def _identify(prefix: str, days: np.ndarray, keep: np.ndarray):  # type: ignore[no-untyped-def]
    """Order of the kept records (by day, then creation), their ids (``PEN-2023-000001``,
    numbered within each year) and a function mapping internal ids to ids (None if dropped)."""
    kept = np.flatnonzero(keep)
    order = kept[np.argsort(days[kept], kind="stable")]
    sorted_days = days[order]
    year = sorted_days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    seq = np.arange(len(order)) - np.searchsorted(year, year, side="left") + 1
    width = max(6, len(str(int(seq.max())))) if len(seq) else 6
    ids = (
        prefix
        + "-"
        + pd.Series(year).astype(str)
        + "-"
        + pd.Series(seq).astype(str).str.zfill(width)
    ).to_numpy(dtype=object)
    lookup = np.full(len(days) + 1, None, dtype=object)  # position -1 → None
    lookup[order] = ids

    def ref(internal: np.ndarray) -> np.ndarray:
        return lookup[np.where(internal < 0, len(days), internal)]

    return order, ids, ref
