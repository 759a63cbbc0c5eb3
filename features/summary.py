"""What an extract or the event store holds: the figures a regulator checks after a load."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from features.contracts import GRADE_NAMES
from features.grades import accident_grades


def summarise(tables: Mapping[str, pd.DataFrame], *, as_of: dt.date) -> list[tuple[str, str]]:
    """(label, value) lines over records as known at ``as_of`` (one version per record)."""
    lines = [(name, f"{len(frame):,} records") for name, frame in tables.items()]
    accidents = tables.get("accidents")
    if accidents is not None and len(accidents):
        grades = accident_grades(accidents).value_counts().sort_index(ascending=False)
        lines.append(
            ("accidents by grade", ", ".join(f"{GRADE_NAMES[g]} {n:,}" for g, n in grades.items()))
        )
        reporting = accidents["reporting"].value_counts()
        lines.append(
            ("accidents by reporting", ", ".join(f"{k} {n:,}" for k, n in reporting.items()))
        )
        lines.append(("deaths", f"{int(accidents['deaths'].sum()):,}"))
    hazards = tables.get("hazards")
    if hazards is not None and len(hazards):
        rectified = pd.to_datetime(hazards["rectified_on"])
        is_open = rectified.isna() | (rectified > pd.Timestamp(as_of))
        overdue = is_open & (pd.to_datetime(hazards["due_on"]) < pd.Timestamp(as_of))
        major = hazards["level"].eq("major")
        lines.append(
            (
                f"major hidden dangers open on {as_of}",
                f"{int((is_open & major).sum()):,} ({int((overdue & major).sum()):,} overdue)",
            )
        )
    penalties = tables.get("penalties")
    if penalties is not None and len(penalties):
        measures = penalties["measure"].value_counts()
        lines.append(
            ("penalty decisions by measure", ", ".join(f"{k} {n:,}" for k, n in measures.items()))
        )
    return lines
