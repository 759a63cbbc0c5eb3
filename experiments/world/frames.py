"""Frames in the contract's columns and the validator's types."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.world.dates import to_dates
from features.contracts import TABLES, Kind


def conform(name: str, /, **columns: np.ndarray) -> pd.DataFrame:
    """A frame with exactly the contract table's columns, in the validator's types: dates as
    ``datetime64[s]`` (from day numbers), whole numbers ``Int64``, money ``float64``, flags
    ``boolean``, text ``object`` with None for empty."""
    table = TABLES[name]
    if set(columns) != set(table.names):
        raise ValueError(f"{name}: columns {sorted(columns)} are not {sorted(table.names)}")
    typed: dict[str, object] = {}
    for col in table.columns:
        values = columns[col.name]
        if col.kind is Kind.DATE:
            typed[col.name] = pd.Series(to_dates(values), dtype="datetime64[s]")
        elif col.kind is Kind.INT:
            typed[col.name] = pd.array(np.asarray(values, dtype=np.float64), dtype="Int64")
        elif col.kind is Kind.MONEY:
            typed[col.name] = np.asarray(values, dtype=np.float64)
        elif col.kind is Kind.BOOL:
            typed[col.name] = pd.array(np.asarray(values, dtype=bool), dtype="boolean")
        else:
            typed[col.name] = pd.Series(values, dtype=object)
    return pd.DataFrame(typed)
