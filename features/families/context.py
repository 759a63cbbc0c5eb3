"""Exposure and context: inspections in the last year, and the enterprise's record as known at
as_of: employees, industry (category codes in the contract's order), standardization grade
(1–3, 4 when not graded) and age in years. Missing for an enterprise not known at as_of."""

from __future__ import annotations

import numpy as np

from features.contracts import INDUSTRIES
from features.families.scope import Scope, window

UNGRADED = 4.0
DAYS_PER_YEAR = 365.25


def compute(scope: Scope) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    inspections = scope.events("inspections")
    if inspections is not None:
        inspected = inspections.days("inspected_on")
        out["insp_1y"] = inspections.count(inspections.within(inspected, window("insp_1y")))
    ev = scope.events("enterprises")
    if ev is None:
        return out
    versions = ev.versions
    industry = versions.codes("industry", tuple(INDUSTRIES))
    grade = np.nan_to_num(versions.number("standardization_grade"), nan=UNGRADED)
    established = ev.days("established_on")
    mine = established <= ev.t
    ent = ev.ent[mine]
    columns = {
        "employees": ev.number("employees")[mine],
        "standardization_grade": grade[ev.rows][mine],
        "enterprise_age": (ev.t - established[mine]) / DAYS_PER_YEAR,
    }
    for name, values in columns.items():
        out[name] = np.full(ev.m, np.nan)
        out[name][ent] = values
    codes = np.full(ev.m, -1, dtype=np.int64)
    codes[ent] = industry[ev.rows][mine]
    out["industry"] = codes
    return out
