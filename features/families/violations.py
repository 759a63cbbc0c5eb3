"""Violations: counts by severity over 90 days, 1 and 3 years, behaviours the listing rules name,
the trend (last year against the year before) and days since the last one. A violation counts
from the day it was found."""

from __future__ import annotations

import numpy as np

from features.catalogue import LISTED_CATEGORIES
from features.families.scope import Scope, window


def compute(scope: Scope) -> dict[str, np.ndarray]:
    ev = scope.events("violations")
    if ev is None:
        return {}
    found = ev.days("found_on")
    serious = ev.isin("severity", ("serious",))
    general = ev.isin("severity", ("general",))
    out: dict[str, np.ndarray] = {}
    for span in ("90d", "1y", "3y"):
        for name, severity in (("general", general), ("serious", serious)):
            feature = f"viol_{name}_{span}"
            out[feature] = ev.count(severity & ev.within(found, window(feature)))
    listed = ev.isin("category", LISTED_CATEGORIES)
    out["viol_listed_3y"] = ev.count(listed & ev.within(found, window("viol_listed_3y")))
    year = window("viol_trend_1y")
    every = np.ones(len(found), dtype=bool)
    out["viol_trend_1y"] = ev.count(ev.within(found, year)) - ev.count(
        ev.within(found, year, lag=year)
    )
    out["viol_days_since_last"] = ev.days_since(found, every, "viol_days_since_last")
    return out
