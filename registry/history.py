"""Reading the event history as it was known on a date (a small reader of the registry's own).

The version of a record in force as of ``as_of`` is the one with the greatest
``(known_from, version_id)`` among those with ``known_from <= as_of``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from features.contracts import TABLES
from features.tables import HISTORY_TABLES


def known_as_of(
    session: Session, *, table: str, as_of: dt.date, usccs: Collection[str] | None = None
) -> pd.DataFrame:
    """One row per record of ``table`` (contract columns), as known on ``as_of``."""
    contract = TABLES[table]
    cls: Any = HISTORY_TABLES[table]
    key = getattr(cls, contract.key)
    rank = (
        func.row_number()
        .over(partition_by=key, order_by=(cls.known_from.desc(), cls.version_id.desc()))
        .label("rank_")
    )
    columns = [getattr(cls, name) for name in contract.names]
    inner = select(*columns, cls.known_from, rank).where(cls.known_from <= as_of)
    if usccs is not None:
        inner = inner.where(cls.uscc.in_(sorted(set(usccs))))
    sub = inner.subquery()
    rows = session.execute(
        select(*(sub.c[n] for n in (*contract.names, "known_from"))).where(sub.c.rank_ == 1)
    ).all()
    frame = pd.DataFrame(rows, columns=[*contract.names, "known_from"])
    return frame.astype(object).where(frame.notna(), None) if len(frame) else frame
