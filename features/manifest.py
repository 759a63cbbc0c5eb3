"""An extract's ``manifest.json``: every file with its row count and sha256, so that a file cut
short (even at a line boundary), swapped or changed after it was written is refused.

Format::

    {"format": 1, "files": {"enterprises.csv": {"rows": 2000, "sha256": "…"}, …}}

``rows`` counts records (a CSV file's lines after the header). ``safecredit simulate`` and
``safecredit export-history`` write one; ``safecredit ingest`` checks it when present and,
with ``--require-manifest``, refuses a folder without one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from features.validate import Problem

MANIFEST = "manifest.json"
FORMAT = 1


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_section(folder: Path, rows: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """The ``files`` of a manifest: per file (a path relative to ``folder``), its rows and hash."""
    return {
        name: {"rows": int(count), "sha256": sha256(Path(folder) / name)}
        for name, count in sorted(rows.items())
    }


def write_manifest(folder: Path, rows: Mapping[str, int]) -> Path:
    """Write ``folder/manifest.json`` for the files named in ``rows`` (file → record count)."""
    path = Path(folder) / MANIFEST
    document = {"format": FORMAT, "files": files_section(folder, rows)}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def read_files(folder: Path) -> tuple[dict[str, dict[str, Any]] | None, list[Problem]]:
    """The ``files`` of ``folder``'s manifest (None when there is none) and what is wrong with
    the manifest itself."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None, []

    def bad(reason: str) -> tuple[None, list[Problem]]:
        return None, [Problem(MANIFEST, 0, "-", reason)]

    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return bad(f"not valid JSON: {exc}")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return bad(f'expected an object with "format": {FORMAT}')
    files = document.get("files")
    if not isinstance(files, dict):
        return bad('expected "files": {"<file>": {"rows": <n>, "sha256": "<hex>"}, …}')
    for name, entry in files.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("rows"), int)
            or isinstance(entry.get("rows"), bool)
            or not isinstance(entry.get("sha256"), str)
        ):
            return bad(f'entry for {name!r}: expected {{"rows": <n>, "sha256": "<hex>"}}')
    return files, []


def check_files(
    folder: Path,
    files: Mapping[str, Mapping[str, Any]],
    found: Mapping[str, tuple[str, int | None]],
) -> list[Problem]:
    """Problems with the files ``found`` (name → sha256, record count or None when not counted)
    against the manifest's ``files``: each listed file present with its hash and rows, each
    file found listed."""
    problems = []
    for name, entry in files.items():
        path = Path(folder) / name
        if name in found:
            digest, rows = found[name]
        elif path.is_file() and path.resolve().is_relative_to(Path(folder).resolve()):
            digest, rows = sha256(path), None
        else:
            problems.append(Problem(name, 0, "-", f"listed in {MANIFEST} but not in the folder"))
            continue
        if digest != entry["sha256"]:
            problems.append(
                Problem(
                    name,
                    0,
                    "-",
                    f"sha256 {digest[:12]}… differs from {MANIFEST} ({str(entry['sha256'])[:12]}…):"
                    " the file was cut short or changed after it was written",
                )
            )
        if rows is not None and rows != entry["rows"]:
            problems.append(
                Problem(name, 0, "-", f"{rows:,} rows, {MANIFEST} says {entry['rows']:,}")
            )
    for name in found:
        if name not in files:
            problems.append(Problem(name, 0, "-", f"not listed in {MANIFEST}"))
    return problems
