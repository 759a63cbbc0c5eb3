"""Point-in-time features: one row per (uscc, as_of) pair, from what was known at as_of only.

One function serves training, batch scoring and the online service. It is vectorised over all
pairs: pairs are grouped by as-of date (a handful of dates, whatever the number of enterprises),
and for each date every family computes its features for all enterprises at once from the record
versions in force then. Features from an absent optional table are missing (NaN), never zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE
from features.contracts import INDUSTRIES
from features.families import FAMILIES
from features.families.scope import Scope
from features.store import NEVER, History, day_numbers

FEATURE_NAMES = tuple(CATALOGUE)
NUMERIC_NAMES = tuple(name for name, f in CATALOGUE.items() if not f.categorical)
_NUMERIC_COLUMNS = pd.Index(NUMERIC_NAMES)
INDUSTRY_DTYPE = pd.CategoricalDtype(categories=list(INDUSTRIES))


class PairsError(ValueError):
    """The (uscc, as_of) pairs are malformed; the message names the column and rows."""


def _check_pairs(pairs: pd.DataFrame) -> np.ndarray:
    missing = [c for c in ("uscc", "as_of") if c not in pairs.columns]
    if missing:
        raise PairsError(f"pairs: missing column(s) {', '.join(missing)}")
    if pairs["uscc"].isna().any():
        rows = list(np.flatnonzero(pairs["uscc"].isna().to_numpy())[:5])
        raise PairsError(f"pairs.uscc: empty at row(s) {rows}")
    try:
        t = day_numbers(pairs["as_of"])
    except (ValueError, TypeError) as exc:
        raise PairsError(f"pairs.as_of: not dates: {exc}") from exc
    if (t == NEVER).any():
        rows = list(np.flatnonzero(t == NEVER)[:5])
        raise PairsError(f"pairs.as_of: empty at row(s) {rows}")
    return t


def as_of(history: History, pairs: pd.DataFrame) -> pd.DataFrame:
    """Features for each row of ``pairs`` (columns ``uscc``, ``as_of``): same order and index,
    columns in catalogue order; ``industry`` is categorical, every other feature float64."""
    t = _check_pairs(pairs)
    n = len(pairs)
    position = {name: i for i, name in enumerate(NUMERIC_NAMES)}
    values = np.full((n, len(NUMERIC_NAMES)), np.nan)
    industry = np.full(n, -1, dtype=np.int64)
    usccs = np.asarray(pairs["uscc"], dtype=object)
    dates, inverse = np.unique(t, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(dates) + 1))
    for k, day in enumerate(dates):
        at = order[bounds[k] : bounds[k + 1]]
        codes, distinct = pd.factorize(usccs[at])
        scope = Scope(history, int(day), np.asarray(distinct, dtype=object))
        for family in FAMILIES:
            for name, column in family(scope).items():
                if name == "industry":
                    industry[at] = column[codes]
                elif name in position:
                    values[at, position[name]] = column[codes]
                else:
                    raise KeyError(f"family computed {name!r}, which is not in the catalogue")
    out = pd.DataFrame(values, index=pairs.index, columns=_NUMERIC_COLUMNS, copy=False)
    industries = pd.Categorical.from_codes(industry, dtype=INDUSTRY_DTYPE)
    out.insert(FEATURE_NAMES.index("industry"), "industry", industries)
    return out
