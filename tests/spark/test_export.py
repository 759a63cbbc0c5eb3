"""``export-history``'s layout on SQLite and PostgreSQL: every version, read back, gives the
store's features at every date (corrections included); an enterprise's rows share one bucket
number in every table; a re-run replaces the export whole; a folder that is not an export is
never replaced."""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from experiments.simulate import simulate
from features.contracts import TABLES
from features.export import MANIFEST, ExportError, read_export, read_manifest, write_export
from features.pit import as_of
from features.store import read_history, stream_versions
from tests.features.test_store import _insert, _pairs, _versions


def _export(session: Session, folder: Path, buckets: int) -> None:
    blocks = {name: stream_versions(session, name, rows=50) for name in TABLES}
    write_export(folder, blocks, buckets=buckets)


@pytest.fixture
def stored(session: Session) -> list[str]:
    """A small province stored with corrections (several versions of some records)."""
    frames = _versions(simulate(12, 3, seed=21, end=dt.date(2025, 2, 28)).tables)
    _insert(session, frames)
    return list(frames["enterprises"]["uscc"].unique())


def test_the_export_gives_the_features_of_the_store(
    session: Session, stored: list[str], tmp_path: Path
) -> None:
    _export(session, tmp_path / "history", buckets=5)
    exported = read_export(tmp_path / "history", usccs=stored)
    pairs = _pairs(stored)
    expected = as_of(read_history(session, usccs=stored), pairs)
    pd.testing.assert_frame_equal(as_of(exported, pairs), expected)
    assert set(exported.tables) == set(read_history(session, usccs=stored).tables)


def test_an_enterprise_s_rows_share_one_bucket_in_every_table(
    session: Session, stored: list[str], tmp_path: Path
) -> None:
    _export(session, tmp_path / "history", buckets=5)
    manifest = read_manifest(tmp_path / "history")
    assert manifest.buckets == 5 and manifest.rows["enterprises"] >= len(stored)
    for name in manifest.tables:
        for part in (tmp_path / "history" / name).glob("bucket=*/*.parquet"):
            bucket = int(part.parent.name.removeprefix("bucket="))
            codes = set(pq.read_table(part, columns=["uscc"]).column("uscc").to_pylist())
            assert {zlib.crc32(c.encode()) % 5 for c in codes} == {bucket}, part


def test_a_rerun_replaces_the_export_whole(
    session: Session, stored: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "history"
    _export(session, target, buckets=7)
    _export(session, target, buckets=2)
    assert read_manifest(target).buckets == 2
    buckets = {p.name for p in (target / "enterprises").iterdir()}
    assert buckets <= {"bucket=000", "bucket=001"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history"]  # no temporary left


def test_a_folder_that_is_not_an_export_is_never_replaced(
    session: Session, stored: list[str], tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not an export folder"):
        _export(session, tmp_path / "mine", buckets=2)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "mine" / MANIFEST).exists()
    with pytest.raises(ExportError, match="run `safecredit export-history` first"):
        read_manifest(tmp_path / "mine")
