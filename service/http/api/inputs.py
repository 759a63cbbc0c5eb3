"""The types bad input stops at, before it reaches the database: days (ISO ``YYYY-MM-DD``,
years 1900–2100), text without control characters, finite numbers, free-form details.

Every string a body, a path or a query carries is one of these (paths and queries are checked
again, whole, by :mod:`service.http.limits`); the OpenAPI document states each bound."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from registry.clock import FIRST_YEAR, LAST_YEAR

# C0 controls and DEL; free text keeps tab, line feed and carriage return
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
MAX_DEPTH = 32  # of nested details


def control_problem(value: str, *, lines: bool = True) -> str | None:
    """Why ``value`` may not be stored: a control character (tab and newlines allowed when
    ``lines``), or a lone surrogate; None when it may."""
    found = (CONTROL if lines else LINE_CONTROL).search(value)
    if found is None:
        return None
    return f"control character U+{ord(found.group()):04X} at position {found.start()}"


def _printable(value: str) -> str:
    problem = control_problem(value)
    if problem:
        raise ValueError(f"must not contain a {problem}")
    return value


def _one_line(value: str) -> str:
    problem = control_problem(value, lines=False)
    if problem:
        raise ValueError(f"must not contain a {problem}")
    return value


def _iso_day(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise ValueError("must be a day (YYYY-MM-DD), not a time")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(DAY_PATTERN, value, flags=re.ASCII):
        raise ValueError("must be a day written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a day: {exc}") from None


def _in_years(value: dt.date) -> dt.date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value.isoformat()} is outside the years {FIRST_YEAR}–{LAST_YEAR}")
    return value


Day = Annotated[
    dt.date,
    BeforeValidator(_iso_day),
    AfterValidator(_in_years),
    Field(
        description=f"a day, YYYY-MM-DD, in the years {FIRST_YEAR}–{LAST_YEAR}",
        json_schema_extra={"pattern": DAY_PATTERN},
    ),
]


def _iso_moment(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.match(DAY_PATTERN[:-1] + "[T ]", value):
        raise ValueError("must be a time written YYYY-MM-DDTHH:MM:SS with a zone")
    return value


def _moment_in_years(value: dt.datetime) -> dt.datetime:
    _in_years(value.date())
    return value


Moment = Annotated[
    dt.datetime,
    BeforeValidator(_iso_moment),
    AfterValidator(_moment_in_years),
    Field(description=f"an ISO 8601 time in the years {FIRST_YEAR}–{LAST_YEAR}"),
]
Text = Annotated[
    str, AfterValidator(_printable), Field(json_schema_extra={"pattern": TEXT_PATTERN})
]  # free text: tab and newlines allowed
Line = Annotated[
    str, AfterValidator(_one_line), Field(json_schema_extra={"pattern": LINE_PATTERN})
]  # codes and names: no control character at all


def _details(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form JSON as the database can store it: finite numbers, printable text, bounded
    depth; the problem names where it is (``details.a.0.b``)."""
    stack: list[tuple[Any, str, int]] = [(value, "details", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{where}: {item} is not a finite number")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 2**63:
            raise ValueError(f"{where}: {item} is outside the 64-bit integers")
        if isinstance(item, str) and (problem := control_problem(item)):
            raise ValueError(f"{where}: text with a {problem}")
        if isinstance(item, dict):
            for k, v in item.items():
                if problem := control_problem(str(k), lines=False):
                    raise ValueError(f"{where}: a key with a {problem}")
                stack.append((v, f"{where}.{k}", depth + 1))
        elif isinstance(item, list):
            stack.extend((v, f"{where}.{i}", depth + 1) for i, v in enumerate(item))
    return value


Details = Annotated[dict[str, Any], AfterValidator(_details)]

# the input models' config: unknown fields, NaN and infinities refused
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
