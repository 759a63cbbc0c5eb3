"""Tables uploaded to the desks: a CSV (UTF-8, with or without a byte-order mark, or GB 18030
as Chinese Excel saves it) or an XLSX workbook (its first sheet). The first row names the
columns (case and spaces ignored); every problem names its row (the header is row 1) and column,
and a file with any problem is refused whole."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

SUFFIXES = (".csv", ".xlsx")
MAX_PROBLEMS = 20  # named on the page; the rest counted


class UploadError(ValueError):
    """A file that cannot be read, or rows that are wrong: every problem, each with its place."""

    def __init__(self, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_PROBLEMS])
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS} more")
        super().__init__("\n".join(shown))
        self.problems = list(problems)


@dataclass(frozen=True)
class Table:
    name: str  # the file's name, as uploaded
    columns: list[str]  # lower case, stripped
    rows: list[dict[str, str]]  # each cell as text, stripped; "" when empty

    def line(self, i: int) -> int:
        """The spreadsheet row of data row ``i`` (0-based): the header is row 1."""
        return i + 2


def read_table(
    name: str, data: bytes, *, required: Sequence[str], known: Sequence[str], max_rows: int
) -> Table:
    """The rows of an uploaded file; :class:`UploadError` for an unreadable file, a missing
    ``required`` column, a column not in ``known``, a repeated column or more than ``max_rows``
    rows."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not data:
        raise UploadError([f"{name or 'the file'}: empty, or no file chosen"])
    if suffix not in SUFFIXES:
        raise UploadError([f"{name}: a {' or '.join(SUFFIXES)} file is needed"])
    grid = _csv(name, data) if suffix == ".csv" else _xlsx(name, data)
    while grid and not any(grid[-1]):
        grid.pop()  # trailing empty rows
    if not grid:
        raise UploadError([f"{name}: no header row"])
    header = [c.strip().lower().replace(" ", "_") for c in grid[0]]
    while header and not header[-1]:
        header.pop()
    problems = [f"{name}: row 1: missing column {c}" for c in required if c not in header]
    problems += [
        f"{name}: row 1, column {i + 1}: unknown column {c!r} (known: {', '.join(known)})"
        for i, c in enumerate(header)
        if c not in known
    ]
    problems += [
        f"{name}: row 1: column {c} twice" for c in sorted(set(header)) if header.count(c) > 1
    ]
    if len(grid) - 1 > max_rows:
        problems.append(f"{name}: {len(grid) - 1:,} rows; at most {max_rows:,} per file")
    if problems:
        raise UploadError(problems)
    rows = []
    for cells in grid[1:]:
        padded = [*cells, *[""] * (len(header) - len(cells))]
        rows.append({c: padded[i].strip() for i, c in enumerate(header)})
    return Table(name, header, rows)


def _csv(name: str, data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UploadError([f"{name}: neither UTF-8 nor GB 18030 text"])
    if "\x00" in text:
        raise UploadError([f"{name}: not a text file (it holds NUL characters)"])
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), strict=True)]
    except csv.Error as exc:
        raise UploadError([f"{name}: cannot be read as CSV: {exc}"]) from None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _xlsx(name: str, data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UploadError([f"{name}: not an XLSX workbook ({type(exc).__name__})"]) from None
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def form_date(name: str, text: str, required: bool = False) -> dt.date | None:
    """A desk form's date field (``yyyy-mm-dd``); empty is None unless ``required``."""
    if not text:
        if required:
            raise UploadError([f"{name}: a date is needed (yyyy-mm-dd)"])
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UploadError([f"{name}: {text!r} is not a date (yyyy-mm-dd)"]) from None
