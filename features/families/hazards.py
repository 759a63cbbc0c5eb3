"""Hidden dangers (事故隐患): open at as_of (found, and not rectified by as_of as known then),
overdue ones and by how many days, those found in the last year, those that fell due in the last
year and how many of them were not rectified by their deadline, the share of those due that were
(1 when none were due) and the median delay of those rectified in the last year (0 when none), and
repeat major hazards over 3 years.

The share and the median read as perfect when nothing fell due, which a small enterprise gets for
free and a large one almost never does; models from training 2026.2 on leave them out and judge
the late count against the number due and the peers' share late instead (models.exposure).

A hidden danger the enterprise found and reported itself (``found_by = enterprise``, its own
隐患排查) is not held against it while it keeps to its deadline: it counts in the open, found and
repeat counts only once it is overdue or was rectified late. Finding hazards is what the
regulations ask for; a score that punished it would teach enterprises to stop reporting. Those
found by an inspection, or by whom is not known, count as found."""

from __future__ import annotations

import numpy as np

from features.families.scope import Scope, window


def compute(scope: Scope) -> dict[str, np.ndarray]:
    ev = scope.events("hazards")
    if ev is None:
        return {}
    t = ev.t
    found, due, rectified = ev.days("found_on"), ev.days("due_on"), ev.days("rectified_on")
    major = ev.isin("level", ("major",))
    general = ev.isin("level", ("general",))
    known = found <= t
    is_open = known & (rectified > t)
    overdue = is_open & (due < t)
    late = overdue | ((rectified <= t) & (rectified > due))
    counted = known & (~ev.isin("found_by", ("enterprise",)) | late)
    out = {
        "haz_open_general": ev.count(is_open & counted & general),
        "haz_open_major": ev.count(is_open & counted & major),
        "haz_overdue_general": ev.count(overdue & general),
        "haz_overdue_major": ev.count(overdue & major),
    }
    n_overdue = ev.count(overdue)
    days_over = ev.count(overdue, (t - due).astype(np.float64))
    out["haz_overdue_days_mean"] = np.divide(
        days_over, n_overdue, out=np.zeros(ev.m), where=n_overdue > 0
    )
    for name, level in (("haz_found_general_1y", general), ("haz_found_major_1y", major)):
        out[name] = ev.count(level & counted & ev.within(found, window(name)))
    was_due = known & ev.within(due, window("haz_rectified_rate_1y"))
    n_due = ev.count(was_due)
    on_time = ev.count(was_due & (rectified <= due) & (rectified <= t))
    out["haz_due_1y"] = n_due
    out["haz_late_1y"] = n_due - on_time
    out["haz_rectified_rate_1y"] = np.divide(on_time, n_due, out=np.ones(ev.m), where=n_due > 0)
    done = known & ev.within(rectified, window("haz_delay_median_1y"))
    delay = np.maximum(rectified - due, 0).astype(np.float64)
    out["haz_delay_median_1y"] = ev.median(delay, done, empty=0.0)
    repeats = ev.count(major & counted & ev.within(found, window("haz_recurring_major_3y")))
    out["haz_recurring_major_3y"] = np.maximum(repeats - 1.0, 0.0)
    return out
