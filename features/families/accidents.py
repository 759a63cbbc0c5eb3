"""Accidents: an accident counts from the day it was reported (迟报 ones late, as the authorities
learned of them) and falls in a window by the day it occurred. Grades by 国务院令第493号."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families.scope import Scope, window
from features.grades import GRADE_ORDER, accident_grade, accident_grades
from features.versions import SMALL, TableVersions


def _grade_codes(versions: TableVersions) -> np.ndarray:
    names = ["deaths", "serious_injuries", "direct_loss_cny"]
    if len(versions) < SMALL:  # a few accidents: the scalar rule beats building frames
        measures = zip(*(versions.number(c) for c in names), strict=True)
        grades = (GRADE_ORDER.index(accident_grade(*m)) for m in measures)
        return np.fromiter(grades, dtype=np.int64, count=len(versions))
    measures = pd.DataFrame(np.column_stack([versions.number(c) for c in names]), columns=names)
    return accident_grades(measures).cat.codes.to_numpy(dtype=np.int64)


def compute(scope: Scope) -> dict[str, np.ndarray]:
    ev = scope.events("accidents")
    if ev is None:
        return {}
    occurred = ev.days("occurred_on")
    known = ev.days("reported_on") <= ev.t
    grade = ev.versions.cached("grade", lambda: _grade_codes(ev.versions))[ev.rows]
    out = {
        name: ev.count(known & ev.within(occurred, window(name)))
        for name in ("acc_count_90d", "acc_count_1y")
    }
    larger, major = GRADE_ORDER.index("larger"), GRADE_ORDER.index("major")
    for name, of_grade in (
        ("acc_general_3y", grade < larger),
        ("acc_larger_3y", grade == larger),
        ("acc_major_3y", grade >= major),
        ("acc_responsible_3y", ev.flag("responsible")),
        ("acc_late_3y", ev.isin("reporting", ("late",))),
        ("acc_concealed_3y", ev.isin("reporting", ("concealed",))),
        ("acc_false_3y", ev.isin("reporting", ("false",))),
    ):
        out[name] = ev.count(known & of_grade & ev.within(occurred, window(name)))
    for name, column in (("acc_deaths_3y", "deaths"), ("acc_injuries_3y", "serious_injuries")):
        in_window = known & ev.within(occurred, window(name))
        out[name] = ev.count(in_window, ev.number(column))
    out["acc_days_since_last"] = ev.days_since(occurred, known, "acc_days_since_last")
    return out
