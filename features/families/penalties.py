"""Administrative penalties: counts, fines, severe measures and accident fines by multiple
(安全生产法 Art. 114) by decision date; decisions not yet carried out at as_of (a warning has
nothing to carry out and never counts as outstanding)."""

from __future__ import annotations

import numpy as np

from features.contracts import SEVERE_MEASURES
from features.families.scope import Scope, window


def compute(scope: Scope) -> dict[str, np.ndarray]:
    ev = scope.events("penalties")
    if ev is None:
        return {}
    decided = ev.days("decided_on")
    out = {
        name: ev.count(ev.within(decided, window(name)))
        for name in ("pen_count_1y", "pen_count_3y")
    }
    in_3y = ev.within(decided, window("pen_amount_3y"))
    amount = np.nan_to_num(ev.number("amount_cny"), nan=0.0)
    out["pen_amount_3y"] = ev.count(in_3y, amount)
    severe = ev.isin("measure", SEVERE_MEASURES)
    out["pen_severe_3y"] = ev.count(severe & ev.within(decided, window("pen_severe_3y")))
    multiplier = ev.number("fine_multiplier")
    by_multiple = ~np.isnan(multiplier)
    out["pen_art114_3y"] = ev.count(by_multiple & ev.within(decided, window("pen_art114_3y")))
    in_max = by_multiple & ev.within(decided, window("pen_art114_max_3y"))
    out["pen_art114_max_3y"] = ev.largest(multiplier, in_max, empty=0.0)
    outstanding = (decided <= ev.t) & (ev.days("fulfilled_on") > ev.t)
    outstanding &= ~ev.isin("measure", ("warning",))
    out["pen_unfulfilled"] = ev.count(outstanding)
    return out
