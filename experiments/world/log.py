"""Append-only columns of simulated records, gathered month by month and joined at the end."""

from __future__ import annotations

import numpy as np


class Log:
    """Records of one kind; each gets an internal id (its position) when added."""

    def __init__(self, **dtypes: str | type) -> None:
        self.dtypes = dtypes
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in dtypes}
        self.count = 0

    def add(self, **columns: np.ndarray | object) -> np.ndarray:
        """Append rows (scalars broadcast); return their ids."""
        m = max((len(v) for v in columns.values() if isinstance(v, np.ndarray)), default=0)
        if set(columns) != set(self.dtypes):
            raise ValueError(f"columns {sorted(columns)} != {sorted(self.dtypes)}")
        for name, values in columns.items():
            self.parts[name].append(np.broadcast_to(np.asarray(values, self.dtypes[name]), (m,)))
        ids = np.arange(self.count, self.count + m, dtype=np.int64)
        self.count += m
        return ids

    def columns(self) -> dict[str, np.ndarray]:
        return {
            name: np.concatenate(parts) if parts else np.empty(0, self.dtypes[name])
            for name, parts in self.parts.items()
        }
