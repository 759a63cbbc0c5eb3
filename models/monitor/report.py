"""The monitor's report: its sections from plain frames, and the breaches of the policy's
thresholds. Gathering the frames from the event store and the ledger is the service's work
(:mod:`service.monitor_run`); everything here can be checked on a hand-built case."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.monitor.policy import MonitorPolicy
from models.monitor.stats import (
    GRADES,
    auc_ks,
    loss_ratios,
    migration,
    psi,
    rates,
    score_band,
    tariff_band,
)


@dataclass(frozen=True)
class Inputs:
    """What the report is computed from.

    ``books``: one row per enterprise and closed book — ``book`` (its date), ``uscc``, ``p``
    (predicted probability), ``score``, ``grade`` (final) and ``y`` (1: a responsible accident
    occurred in the outcome window, as known on the report's date).
    ``grades_from``/``grades_to``: final grades by USCC on the migration's two dates.
    ``reference``/``current``: feature frames (training data, the report's date), with a
    ``score`` column each for the score's PSI.
    ``policies``: priced policies whose period closed — ``band_factor`` (the banded float
    factor), ``premium_cny``, ``loss_cny``; None when no premiums are known.
    """

    books: pd.DataFrame
    grades_from: pd.Series
    grades_to: pd.Series
    reference: pd.DataFrame
    current: pd.DataFrame
    policies: pd.DataFrame | None
    features: tuple[str, ...]
    trained_until: str | None = None  # the champion's last training as-of date, if known


@dataclass
class Report:
    as_of: str
    since: str
    migration_dates: tuple[str, str]
    versions: dict[str, str]
    sections: dict[str, Any]
    breaches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "since": self.since,
            "migration_dates": list(self.migration_dates),
            "versions": self.versions,
            "breaches": self.breaches,
            **self.sections,
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v


def build(
    inputs: Inputs,
    policy: MonitorPolicy,
    *,
    as_of: str,
    since: str,
    migration_dates: tuple[str, str],
    versions: dict[str, str],
) -> Report:
    t = policy.thresholds
    books = inputs.books.copy()
    books["band"] = score_band(books["score"], policy.bands.score_width).to_numpy()
    books["book"] = pd.to_datetime(books["book"]).dt.date.astype(str)
    sections: dict[str, Any] = {}
    breaches: list[str] = []

    by_grade = rates(books, ["book", "grade"], confidence=t.confidence)
    pooled_grade = rates(books, "grade", confidence=t.confidence)
    by_band = rates(books, "band", confidence=t.confidence)
    sections["rates_by_grade"] = _records(by_grade)
    sections["rates_by_grade_pooled"] = _records(pooled_grade)
    sections["rates_by_band"] = _records(by_band)
    if t.grade_order:
        breaches += _order_breaches(pooled_grade, t.min_rows, "all closed books")

    calibration = rates(books, "book", confidence=t.confidence)
    calibration["ratio"] = calibration["rate"] / calibration["predicted"]
    # a book on or before the champion's last training date is in its training data
    last = inputs.trained_until
    calibration["in_training"] = [last is not None and b <= last for b in calibration["book"]]
    lo, hi = t.calibration_ratio
    quarters = []
    for book, part in books.groupby("book", sort=True):
        auc, ks = auc_ks(part["y"].to_numpy(), part["p"].to_numpy())
        quarters.append(
            {"book": book, "n": len(part), "events": int(part["y"].sum()), "auc": auc, "ks": ks}
        )
    discrimination = pd.DataFrame(quarters, columns=["book", "n", "events", "auc", "ks"])
    discrimination["in_training"] = calibration["in_training"].to_numpy()
    sections["calibration"] = _records(calibration)
    sections["discrimination"] = _records(discrimination)
    for row in calibration.itertuples():
        if row.n >= t.min_rows and not lo <= row.ratio <= hi:
            breaches.append(
                f"calibration: book {row.book}: realised {row.rate:.4f} against predicted "
                f"{row.predicted:.4f} (ratio {row.ratio:.2f}, allowed {lo}–{hi})"
            )
    for row in discrimination.itertuples():
        if row.n >= t.min_rows and not math.isnan(row.auc) and row.auc < t.min_auc:
            breaches.append(f"discrimination: book {row.book}: AUC {row.auc:.3f} < {t.min_auc}")

    matrix = migration(inputs.grades_from, inputs.grades_to)
    sections["migration"] = {
        "from": migration_dates[0],
        "to": migration_dates[1],
        "grades": list(GRADES),
        "counts": matrix.to_numpy().tolist(),
    }

    drift = []
    for name in [*inputs.features, "score"]:
        if name not in inputs.reference or name not in inputs.current:
            continue
        value = psi(
            inputs.reference[name],
            inputs.current[name],
            bins=policy.psi.bins,
            epsilon=policy.psi.epsilon,
        )
        limit = t.psi_score if name == "score" else t.psi_feature
        drift.append({"feature": name, "psi": value, "limit": limit})
        if value > limit:
            breaches.append(f"drift: PSI of {name} {value:.3f} > {limit}")
    sections["psi"] = drift
    sections["psi_rows"] = {"reference": len(inputs.reference), "current": len(inputs.current)}

    if inputs.policies is None or not len(inputs.policies):
        sections["loss_ratio"] = None  # no premiums known: missing, not zero
    else:
        priced = inputs.policies.assign(
            band=tariff_band(inputs.policies["band_factor"], policy.bands.tariff_edges).to_numpy()
        )
        table = loss_ratios(priced)
        sections["loss_ratio"] = _records(table)
        for row in table.itertuples():
            if row.premium_cny >= t.min_premium_cny and row.loss_ratio > t.max_loss_ratio:
                breaches.append(
                    f"tariff: band {row.band}: loss ratio {row.loss_ratio:.2f} > {t.max_loss_ratio}"
                )
    sections["rows"] = {"books": int(books["book"].nunique()), "book_rows": len(books)}
    return Report(as_of, since, migration_dates, versions, sections, breaches)


def _order_breaches(table: pd.DataFrame, min_rows: int, where: str) -> list[str]:
    """A better grade whose realised rate's interval lies wholly above a worse grade's."""
    big = table[table["n"] >= min_rows].set_index("grade")
    out = []
    present = [g for g in GRADES if g in big.index]
    for i, better in enumerate(present):
        for worse in present[i + 1 :]:
            if big.loc[better, "lo"] > big.loc[worse, "hi"]:
                out.append(
                    f"grades: {where}: {better} realised {big.loc[better, 'rate']:.4f} is above "
                    f"{worse} {big.loc[worse, 'rate']:.4f} beyond their intervals"
                )
    return out
