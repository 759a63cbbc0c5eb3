"""``--out`` options that write a table for people: the extension is checked while the
arguments are parsed, before any work (exit 2, naming the extensions allowed).

See :mod:`features.files` for the formats.
"""

from __future__ import annotations

from pathlib import Path

import typer

from service.cli.choices import FORMATS

OUT_HELP = f"file to write: {', '.join(FORMATS)} (by the extension)"


def table_file(path: Path | None) -> Path | None:
    """Callback: ``path`` names a table file of a known format (or is not given)."""
    if path is not None:
        from features.files import FileFormatError, table_format

        try:
            table_format(path)
        except FileFormatError as exc:
            raise typer.BadParameter(str(exc)) from None
    return path


def table_file_or_folder(path: Path | None) -> Path | None:
    """Callback: a table file of a known format, or a folder (no extension, or one that
    exists) for the commands that write several files or Spark's Parquet folders."""
    if path is None or path.suffix == "" or path.is_dir():
        return path
    return table_file(path)
