"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters over ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z); the 18th is a check
character over the first 17 with weights ``3^(i-1) mod 31``. Some early pilot-area codes fail
the check legitimately, so besides the strict mode there is a warn mode and an allow-list: a
real registry entry is never rejected on its check character alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from operator import mul

import numpy as np
import pandas as pd

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
SHAPE = re.compile(rf"[{ALPHABET}]{{18}}")
_SHAPE = re.compile(rf"^[{ALPHABET}]{{18}}$")


class CheckMode(StrEnum):
    """How a failed check character is treated."""

    STRICT = "strict"  # an error (input forms)
    WARN = "warn"  # a warning; the record loads (registry extracts)


_17 = re.compile(rf"[{ALPHABET}]{{17}}")
_VALUES = bytes.maketrans(ALPHABET.encode("ascii"), bytes(range(len(ALPHABET))))


def check_character(first17: str) -> str:
    """The 18th character for the first 17 characters of a code."""
    if _17.fullmatch(first17) is None:
        raise ValueError(f"not 17 characters of the USCC alphabet: {first17!r}")
    total = sum(map(mul, first17.encode("ascii").translate(_VALUES), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def shape_problem(code: str) -> str | None:
    """Why ``code`` is not shaped like a USCC, or None when it is."""
    if len(code) != 18:
        return f"USCC must have 18 characters, got {len(code)}"
    bad = sorted({c for c in code if c not in VALUE})
    if bad:
        return f"USCC has characters outside GB 32100-2015's alphabet: {''.join(bad)}"
    return None


def is_valid(code: str) -> bool:
    """Shape and check character both right."""
    return shape_problem(code) is None and check_character(code[:17]) == code[17]


_LOOKUP = np.full(256, -1, dtype=np.int64)
_LOOKUP[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(len(ALPHABET))


def check_problems(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised: (shape problem or "", check character wrong) for each code.

    Shape problems are always errors; a wrong check character is an error or a warning by
    :class:`CheckMode`. Each distinct code is checked once.
    """
    s = codes.fillna("").astype(str)
    inverse, distinct = pd.factorize(s)
    distinct = pd.Series(distinct, dtype=object)
    shaped = distinct.str.match(_SHAPE.pattern).to_numpy(dtype=bool)
    problem = np.full(len(distinct), "", dtype=object)
    for i in np.flatnonzero(~shaped):
        problem[i] = shape_problem(distinct[i]) or "USCC is malformed"
    wrong = np.zeros(len(distinct), dtype=bool)
    ok = np.flatnonzero(shaped)
    if len(ok):
        raw = "".join(distinct[ok]).encode("ascii")
        values = _LOOKUP[np.frombuffer(raw, dtype=np.uint8)].reshape(-1, 18)
        total = values[:, :17] @ np.array(WEIGHTS)
        wrong[ok] = (31 - total % 31) % 31 != values[:, 17]
    return (
        pd.Series(problem[inverse], index=s.index, dtype=object),
        pd.Series(wrong[inverse], index=s.index),
    )


def with_check(first17: str) -> str:
    """A full code: ``first17`` followed by its check character."""
    return first17 + check_character(first17)


def allow_list(codes: Iterable[str]) -> frozenset[str]:
    """Normalised allow-list of codes accepted even though their check character fails."""
    return frozenset(c.strip().upper() for c in codes if c.strip())
