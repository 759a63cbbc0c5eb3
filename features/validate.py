"""Validation of an extract: every problem found, named by file, row and column, before anything
is written. Cells arrive as text (CSV) or typed (Parquet) and leave typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features import uscc as uscc_codes
from features.contracts import TABLES, Column, Kind, Table

CONTROL = r"[\x00-\x1f\x7f-\x9f]"  # C0 and C1 control characters, DEL: never in a cell
TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, as ``file:row:column: reason``."""

    file: str
    row: int  # the line in a CSV file (header = 1); the 1-based row in a Parquet file
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.reason}"


@dataclass
class Extract:
    """One folder's tables, read but not yet checked."""

    frames: dict[str, pd.DataFrame]  # table → cells (strings, "" for empty)
    files: dict[str, str]  # table → file name
    header_rows: dict[str, int]  # table → offset from frame position to reported row

    def row(self, table: str, position: np.ndarray | int) -> np.ndarray | int:
        return position + self.header_rows[table]


@dataclass
class Checked:
    """The result of validation: typed frames, errors and warnings."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


Reasons = Callable[[pd.Series], pd.Series]


class _Collector:
    def __init__(self, extract: Extract, table: str, out: list[Problem]) -> None:
        self.file = extract.files[table]
        self.offset = extract.header_rows[table]
        self.out = out

    def rows(self, mask: pd.Series, column: str, reason: str | Reasons) -> None:
        """Record a problem for each row in ``mask``; a reason that depends on the row is a
        function of the mask, called only when some row is wrong."""
        positions = np.flatnonzero(mask.to_numpy())
        if not len(positions):
            return
        reasons = list(reason(mask)) if callable(reason) else [reason] * len(positions)
        self.out.extend(
            Problem(self.file, int(p) + self.offset, column, r)
            for p, r in zip(positions, reasons, strict=True)
        )

    def header(self, column: str, reason: str) -> None:
        self.out.append(Problem(self.file, 1, column, reason))


def _quote(values: pd.Series) -> pd.Series:
    return values.map(lambda v: repr(str(v)))


def _typed(col: Column, cells: pd.Series, known_on: dt.date, bad: _Collector) -> pd.Series:
    """``cells`` (strings) converted to ``col``'s type; problems go to ``bad``."""
    empty = cells.eq("")
    if not col.nullable:
        bad.rows(empty, col.name, "empty, a value is required")
    present = ~empty
    if col.kind is Kind.DATE:
        parsed = pd.to_datetime(cells.where(present), format="%Y-%m-%d", errors="coerce")
        bad.rows(
            present & parsed.isna(),
            col.name,
            lambda m: "not a date (yyyy-mm-dd): " + _quote(cells[m]),
        )
        if not col.future:
            late = parsed > pd.Timestamp(known_on)
            bad.rows(
                late, col.name, lambda m: "date " + cells[m] + f" is after the load date {known_on}"
            )
        return parsed.astype("datetime64[s]")
    if col.kind in (Kind.INT, Kind.MONEY):
        number = pd.to_numeric(cells.where(present), errors="coerce").astype("float64")
        bad.rows(present & number.isna(), col.name, lambda m: "not a number: " + _quote(cells[m]))
        infinite = number.notna() & ~np.isfinite(number)
        bad.rows(infinite, col.name, lambda m: "not a finite number: " + _quote(cells[m]))
        number = number.where(~infinite)
        bad.rows(number < 0, col.name, lambda m: "negative: " + cells[m])
        if col.kind is Kind.INT:
            bad.rows(
                number.notna() & (number % 1 != 0),
                col.name,
                lambda m: "not a whole number: " + cells[m],
            )
        if col.low is not None:
            bad.rows(number < col.low, col.name, lambda m: f"below {col.low:g}: " + cells[m])
        top = col.maximum
        if top is not None:
            why = "the contract's maximum" if col.high is not None else "the most the column holds"
            bad.rows(number > top, col.name, lambda m: f"above {top:,.0f} ({why}): " + cells[m])
            number = number.where(~(number > top))
        if col.kind is Kind.INT:
            whole = number.where(number % 1 == 0)
            return whole.astype("Int64")
        return number
    if col.kind is Kind.BOOL:
        lower = cells.str.lower()
        known = lower.isin(TRUE | FALSE)
        bad.rows(present & ~known, col.name, lambda m: "not true/false: " + _quote(cells[m]))
        return lower.map(lambda v: True if v in TRUE else (False if v in FALSE else pd.NA)).astype(
            "boolean"
        )
    if col.kind is Kind.ENUM:
        bad.rows(
            present & ~cells.isin(col.values),
            col.name,
            lambda m: _quote(cells[m]) + f" is not one of: {', '.join(col.values)}",
        )
    if col.pattern:
        wrong = present & ~cells.str.fullmatch(col.pattern)
        bad.rows(wrong, col.name, lambda m: _quote(cells[m]) + f" does not match {col.pattern}")
    return cells.where(present, None).astype(object)


def _uscc(
    cells: pd.Series,
    column: str,
    mode: uscc_codes.CheckMode,
    allowed: Collection[str],
    errors: _Collector,
    warnings: _Collector,
) -> None:
    present = cells.ne("")
    shape, wrong_check = uscc_codes.check_problems(cells)
    errors.rows(present & shape.ne(""), column, lambda m: shape[m])
    wrong = present & wrong_check & ~cells.isin(allowed)

    def reason(m: pd.Series) -> pd.Series:
        return "USCC check character is wrong (GB 32100-2015): " + cells[m]

    if mode is uscc_codes.CheckMode.STRICT:
        errors.rows(wrong, column, lambda m: reason(m) + "; allow-list it if the code is real")
    else:
        warnings.rows(wrong, column, reason)


def _control(cells: pd.Series) -> Reasons:
    def reason(m: pd.Series) -> pd.Series:
        found = cells[m].str.extract(f"({CONTROL})", expand=False)
        return "control character " + found.map(lambda c: f"U+{ord(c):04X}") + " in the text"

    return reason


def _reused(
    keys: pd.Series, owners: pd.Series, stored: pd.Series, column: str, bad: _Collector
) -> None:
    """A record id already stored for another enterprise (``stored``: id → uscc)."""
    if not len(stored):
        return
    before = keys.map(stored)
    other = before.notna() & owners.ne("") & before.ne(owners)

    def reason(m: pd.Series) -> pd.Series:
        return (
            column
            + " "
            + _quote(keys[m])
            + " is already stored for enterprise "
            + before[m].astype(str)
            + ", not "
            + owners[m]
            + ": a record id is never reused for another enterprise"
        )

    bad.rows(other, column, reason)


def _duplicates(
    cells: pd.Series, column: str, bad: _Collector, owners: pd.Series | None = None
) -> None:
    present = cells.ne("")
    dup = cells.duplicated(keep="first") & present
    if dup.any():
        first_pos = (
            pd.Series(np.arange(len(cells)), index=cells.index).groupby(cells).transform("min")
        )
        first_row = (first_pos + bad.offset).astype(str)
        if owners is not None:
            first_owner = pd.Series(owners.to_numpy()[first_pos.to_numpy()], index=cells.index)
            other = first_owner.ne(owners)
            first_row = first_row.where(~other, first_row + ", for enterprise " + first_owner)
        bad.rows(
            dup,
            column,
            lambda m: (
                "duplicate "
                + column
                + " "
                + _quote(cells[m])
                + " (first on row "
                + first_row[m]
                + ")"
            ),
        )


def validate(
    extract: Extract,
    *,
    known_on: dt.date,
    check_mode: uscc_codes.CheckMode = uscc_codes.CheckMode.STRICT,
    allow_list: Collection[str] = frozenset(),
    known_keys: Mapping[str, Collection[str]] | None = None,
    stored_owners: Mapping[str, pd.Series] | None = None,
) -> Checked:
    """Check ``extract`` as a whole; ``known_keys``: record keys already stored, by table;
    ``stored_owners``: per table, the enterprise each stored record id belongs to (id → uscc)."""
    known_keys = known_keys or {}
    stored_owners = stored_owners or {}
    checked = Checked()
    for name, table in TABLES.items():
        if name not in extract.frames:
            if table.required:
                checked.errors.append(Problem(f"{name}.csv", 0, "-", "required table is missing"))
            continue
        checked.frames[name] = _check_table(
            extract, table, known_on, check_mode, allow_list, checked, stored_owners
        )
    _check_references(extract, checked, known_keys)
    checked.errors.sort()
    checked.warnings.sort()
    return checked


def _check_table(
    extract: Extract,
    table: Table,
    known_on: dt.date,
    mode: uscc_codes.CheckMode,
    allowed: Collection[str],
    checked: Checked,
    stored_owners: Mapping[str, pd.Series],
) -> pd.DataFrame:
    cells = extract.frames[table.name]
    errors = _Collector(extract, table.name, checked.errors)
    warnings = _Collector(extract, table.name, checked.warnings)
    typed: dict[str, pd.Series] = {}
    for col in table.columns:
        if col.name not in cells.columns:
            if col.required:
                errors.header(col.name, "required column is missing")
            typed[col.name] = pd.Series(None, index=cells.index, dtype=object)
            continue
        column = cells[col.name]
        control = column.str.contains(CONTROL, regex=True)
        errors.rows(control, col.name, _control(column))
        if col.kind is Kind.USCC:
            _uscc(column, col.name, mode, allowed, errors, warnings)
        typed[col.name] = _typed(col, column, known_on, errors)
    if table.key in cells.columns:
        owners = cells["uscc"] if "uscc" in cells.columns and table.key != "uscc" else None
        _duplicates(cells[table.key], table.key, errors, owners)
        if owners is not None and table.name in stored_owners:
            _reused(cells[table.key], owners, stored_owners[table.name], table.key, errors)
    frame = pd.DataFrame(typed, index=cells.index)
    for later, earlier in table.order:
        before = frame[later] < frame[earlier]
        errors.rows(before.fillna(False), later, _before(cells, later, earlier))
    return frame


def _before(cells: pd.DataFrame, later: str, earlier: str) -> Reasons:
    def reason(m: pd.Series) -> pd.Series:
        return f"{later} " + cells[later][m] + f" is before {earlier} " + cells[earlier][m]

    return reason


def _unknown(cells: pd.Series, column: str, target: str) -> Reasons:
    def reason(m: pd.Series) -> pd.Series:
        return "unknown " + column + " " + _quote(cells[m]) + f" (not in {target})"

    return reason


def _check_references(
    extract: Extract, checked: Checked, known_keys: Mapping[str, Collection[str]]
) -> None:
    cache: dict[str, pd.Index | None] = {}

    def keys(table: str) -> pd.Index | None:
        if table not in cache:
            found = pd.Index(list(known_keys.get(table, ())), dtype=object)
            frame = extract.frames.get(table)
            if frame is not None and TABLES[table].key in frame.columns:
                found = found.append(pd.Index(frame[TABLES[table].key].to_numpy(dtype=object)))
            cache[table] = found.unique() if len(found) else None
        return cache[table]

    for name, table in TABLES.items():
        if name not in extract.frames or name == "enterprises":
            continue
        cells = extract.frames[name]
        errors = _Collector(extract, name, checked.errors)
        warnings = _Collector(extract, name, checked.warnings)
        refs = {"uscc": "enterprises", **table.references}
        for column, target in refs.items():
            if column not in cells.columns:
                continue
            present = cells[column].ne("")
            known = keys(target)
            if known is None:
                warnings.rows(present, column, f"not checked: no {target} loaded or given")
                continue
            unknown = present & ~cells[column].isin(known)
            errors.rows(
                unknown,
                column,
                _unknown(cells[column], column, target),
            )


def problem_lines(problems: list[Problem], cap: int) -> list[str]:
    lines = [str(p) for p in problems[:cap]]
    if len(problems) > cap:
        lines.append(f"… and {len(problems) - cap} more")
    return lines
