"""Reading an extract folder: one CSV or Parquet file per contract table, cells as text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from features.contracts import TABLES
from features.validate import Extract, Problem


class ExtractError(Exception):
    """The folder cannot be read as an extract; ``problems`` say where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed Parquet columns as the text a CSV would hold ("" for missing)."""
    out = {}
    for name, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            text = column.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(column):
            text = column.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(column):
            whole = column.notna() & (column % 1 == 0)
            text = column.astype(str).where(~whole, column.astype("Int64").astype(str))
        else:
            text = column.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v).astype(str)
        out[name] = text.where(column.notna(), "")
    return pd.DataFrame(out, index=frame.index)


def read_extract(folder: Path) -> tuple[Extract, dict[str, dict[str, object]]]:
    """The tables in ``folder`` and, per file, its sha256 and row count (for the load record)."""
    if not folder.is_dir():
        raise ExtractError([Problem(str(folder), 0, "-", "not a folder")])
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    offsets: dict[str, int] = {}
    info: dict[str, dict[str, object]] = {}
    problems: list[Problem] = []
    for name in TABLES:
        found = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
        if len(found) > 1:
            problems.append(Problem(found[1].name, 0, "-", f"both {name}.csv and {name}.parquet"))
            continue
        if not found:
            continue
        path = found[0]
        try:
            if path.suffix == ".csv":
                frame = pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    encoding="utf-8-sig",
                    skipinitialspace=True,
                )
                offsets[name] = 2  # the header is line 1
            else:
                frame = _as_text(pd.read_parquet(path))
                offsets[name] = 1
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path.name, 0, "-", f"cannot be read: {exc}"))
            continue
        frame.columns = [str(c).strip() for c in frame.columns]
        frames[name] = frame.apply(lambda c: c.str.strip()).reset_index(drop=True)
        files[name] = path.name
        info[path.name] = {"sha256": _sha256(path), "rows": len(frame)}
    if problems:
        raise ExtractError(problems)
    return Extract(frames=frames, files=files, header_rows=offsets), info


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
