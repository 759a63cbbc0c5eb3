"""A renewal book's rows as quote requests (the API's ``QuoteIn`` as JSON): each cell read by
its column, an empty cell taking the desk's default. A row whose cells cannot be read is refused
on its own, naming its columns; the tariff's own checks come after
(:mod:`service.engine.quote_book`)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from service.http.pages.sheets import Table

COLUMNS = (
    "uscc",
    "insured_amount_cny",
    "headcount",
    "honours",
    "previous_rate",
    "period_start",
    "as_of",
)


@dataclass(frozen=True)
class Defaults:
    period_start: dt.date
    insured_amount_cny: float
    honours: str = "none"
    as_of: dt.date | None = None


@dataclass
class Rows:
    asked: list[dict[str, Any] | None] = field(default_factory=list)  # None: refused on reading
    refused: dict[int, dict[str, Any]] = field(default_factory=dict)  # index → uscc, error, …
    numbers: list[int] = field(default_factory=list)  # each row's line in the file


def _number(text: str) -> float:
    value = float(text.replace(",", ""))
    if not math.isfinite(value):
        raise ValueError
    return value


def read_rows(table: Table, defaults: Defaults) -> Rows:
    out = Rows()
    for i, cells in enumerate(table.rows):
        out.numbers.append(table.line(i))
        problems: list[str] = []
        request: dict[str, Any] = {
            "uscc": cells.get("uscc", "").upper(),
            "insured_amount_cny": defaults.insured_amount_cny,
            "period_start": defaults.period_start.isoformat(),
            "as_of": defaults.as_of.isoformat() if defaults.as_of else None,
            "headcount": None,
            "honours": cells.get("honours") or defaults.honours,
            "previous_rate": None,
        }
        if not request["uscc"]:
            problems.append("uscc: empty")
        for name in ("insured_amount_cny", "headcount", "previous_rate"):
            text = cells.get(name, "")
            if not text:
                continue
            try:
                value = _number(text)
            except ValueError:
                problems.append(f"{name}: {text!r} is not a number")
                continue
            if name == "headcount" and not value.is_integer():
                problems.append(f"headcount: {text!r} is not a whole number")
                continue
            request[name] = int(value) if name == "headcount" else value
        for name in ("period_start", "as_of"):
            text = cells.get(name, "")
            if text:
                try:
                    request[name] = dt.date.fromisoformat(text).isoformat()
                except ValueError:
                    problems.append(f"{name}: {text!r} is not a date (yyyy-mm-dd)")
        if problems:
            out.asked.append(None)
            out.refused[i] = {
                "uscc": request["uscc"],
                "error": "bad_quote",
                "detail": "; ".join(problems),
                "asked": cells,
            }
        else:
            out.asked.append(request)
    return out
