"""Ingest cannot be fooled: cut files, reused record ids, impossible numbers, control characters,
undecodable bytes and files that differ from their manifest are refused as ``file:row:column:
reason``, on SQLite and PostgreSQL, and the store is left exactly as it was."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from experiments.simulate import simulate, write_world
from features.export import read_manifest, versioned, write_export
from features.extract import ExtractError
from features.ingest import IngestError
from features.manifest import MANIFEST, check_files, read_files
from tests.features import extracts
from tests.features.test_ingest import KNOWN_ON, counts, load

END = dt.date(2024, 12, 31)


def refused(session: Session, folder: Path, **kwargs: object) -> list[str]:
    """The problems ingesting ``folder`` is refused with; the store must not change."""
    before = counts(session)
    with pytest.raises((IngestError, ExtractError)) as refusal:
        load(session, folder, **kwargs)
    assert counts(session) == before
    return [str(p) for p in refusal.value.problems]  # type: ignore[union-attr]


def cut(path: Path, keep: int) -> None:
    """Keep the first ``keep`` bytes of ``path``, as a transfer cut short would."""
    path.write_bytes(path.read_bytes()[:keep])


def test_a_last_line_cut_before_its_last_field_is_refused(session: Session, tmp_path: Path) -> None:
    folder = extracts.write(tmp_path, extracts.tables())
    hazards = folder / "hazards.csv"
    data = hazards.read_bytes()
    assert data.endswith(b",2024-04-20\n")  # H2, rectified: the cut would make it an open hazard
    cut(hazards, data.rindex(b",") + 1)
    assert refused(session, folder) == [
        "hazards.csv:3:-: the file does not end with a line break: last line cut?"
    ]


def test_a_last_line_cut_inside_free_text_is_refused(session: Session, tmp_path: Path) -> None:
    frames = extracts.tables()
    frames["penalties"]["department"] = ["太原市应急管理局", "山西省应急管理厅执法总队"]
    folder = extracts.write(tmp_path, frames)
    penalties = folder / "penalties.csv"
    text = penalties.read_text()
    penalties.write_text(text[: text.rindex("执法")])  # the cut falls between characters
    assert refused(session, folder) == [
        "penalties.csv:3:-: the file does not end with a line break: last line cut?"
    ]


def test_a_row_with_another_number_of_fields_is_refused(session: Session, tmp_path: Path) -> None:
    folder = extracts.write(tmp_path, extracts.tables())
    inspections = folder / "inspections.csv"
    lines = inspections.read_text().splitlines()
    lines[1] += ",extra"
    lines[2] = lines[2].rsplit(",", 1)[0]
    inspections.write_text("\n".join(lines) + "\n")
    assert refused(session, folder) == [
        "inspections.csv:2:-: 4 field(s), the header has 3",
        "inspections.csv:3:-: 2 field(s), the header has 3",
    ]


def test_a_file_cut_at_a_line_boundary_is_caught_by_the_manifest(
    session: Session, tmp_path: Path
) -> None:
    world = simulate(40, 2, seed=3, end=END)
    folder = tmp_path / "province"
    write_world(world, folder)
    accidents = folder / "accidents.csv"
    lines = accidents.read_bytes().splitlines(keepends=True)
    assert len(lines) > 2
    accidents.write_bytes(b"".join(lines[:-1]))  # still ends with a line break
    problems = refused(session, folder, known_on=END)
    assert any(
        p.startswith("accidents.csv:0:-: sha256 ") and "cut short or changed" in p for p in problems
    ), problems
    rows = len(world.tables["accidents"])
    assert f"accidents.csv:0:-: {rows - 1:,} rows, manifest.json says {rows:,}" in problems


def test_a_simulated_province_loads_with_its_manifest_required(
    session: Session, tmp_path: Path
) -> None:
    world = simulate(40, 2, seed=3, end=END)
    folder = tmp_path / "province"
    write_world(world, folder, "parquet")
    report = load(session, folder, known_on=END, require_manifest=True)
    assert report.written == sum(len(f) for f in world.tables.values())


def test_require_manifest_refuses_a_folder_without_one(session: Session, tmp_path: Path) -> None:
    folder = extracts.write(tmp_path, extracts.tables())
    assert refused(session, folder, require_manifest=True) == [
        "manifest.json:0:-: missing, and --require-manifest was given"
    ]


def test_a_file_not_in_the_manifest_or_a_bad_manifest_is_refused(
    session: Session, tmp_path: Path
) -> None:
    world = simulate(40, 2, seed=3, end=END)
    folder = tmp_path / "province"
    write_world(world, folder)
    document = json.loads((folder / MANIFEST).read_text())
    del document["files"]["hazards.csv"]
    (folder / MANIFEST).write_text(json.dumps(document))
    assert refused(session, folder, known_on=END) == [
        "hazards.csv:0:-: not listed in manifest.json"
    ]
    (folder / MANIFEST).write_text('{"format": 1, "files": ')
    problems = refused(session, folder, known_on=END)
    assert len(problems) == 1 and problems[0].startswith("manifest.json:0:-: not valid JSON")


def test_record_ids_stored_for_other_enterprises_are_refused(
    session: Session, tmp_path: Path
) -> None:
    first, second = (simulate(60, 2, seed=s, end=END) for s in (1, 2))
    write_world(first, tmp_path / "first")
    write_world(second, tmp_path / "second")
    load(session, tmp_path / "first", known_on=END)
    problems = refused(session, tmp_path / "second", known_on=END)
    accidents = second.tables["accidents"]
    stored = first.tables["accidents"].set_index("accident_id")["uscc"]
    row = accidents.index[accidents["accident_id"].isin(stored.index)][0]
    accident_id = accidents.loc[row, "accident_id"]
    assert (
        f"accidents.csv:{row + 2}:accident_id: accident_id '{accident_id}' is already stored for "
        f"enterprise {stored[accident_id]}, not {accidents.loc[row, 'uscc']}: a record id is "
        "never reused for another enterprise"
    ) in problems
    tables = {p.split(":")[0] for p in problems if "is already stored for enterprise" in p}
    assert {"accidents.csv", "inspections.csv", "penalties.csv"} <= tables


def test_an_id_given_twice_for_two_enterprises_is_refused(session: Session, tmp_path: Path) -> None:
    frames = extracts.tables()
    frames["inspections"].loc[1, "inspection_id"] = "I1"  # I1 is A's; row 3 is B's
    problems = refused(session, extracts.write(tmp_path, frames))
    assert (
        f"inspections.csv:3:inspection_id: duplicate inspection_id 'I1' "
        f"(first on row 2, for enterprise {extracts.A})"
    ) in problems


NUMBERS = {
    "infinity": ("direct_loss_cny", "inf", "not a finite number: 'inf'"),
    "overflow to infinity": ("direct_loss_cny", "1e400", "not a finite number: '1e400'"),
    "not a number": ("direct_loss_cny", "nan", "not a number: 'nan'"),
    "above a trillion": (
        "direct_loss_cny",
        "2e12",
        "above 1,000,000,000,000 (the contract's maximum): 2e12",
    ),
    "deaths beyond any accident": (
        "deaths",
        "100001",
        "above 100,000 (the contract's maximum): 100001",
    ),
    "integer too large for any column": (
        "serious_injuries",
        "99999999999999999999999",
        "above 100,000 (the contract's maximum): 99999999999999999999999",
    ),
}


@pytest.mark.parametrize("case", list(NUMBERS))
def test_impossible_numbers_are_refused(session: Session, tmp_path: Path, case: str) -> None:
    column, value, reason = NUMBERS[case]
    frames = extracts.tables()
    frames["accidents"].loc[0, column] = value
    assert refused(session, extracts.write(tmp_path, frames)) == [
        f"accidents.csv:2:{column}: {reason}"
    ]


def test_an_integer_that_does_not_fit_its_column_is_refused(
    session: Session, tmp_path: Path
) -> None:
    frames = extracts.tables()
    frames["penalties"].loc[0, "amount_cny"] = "1e12"  # the largest amount: accepted
    frames["enterprises"].loc[0, "employees"] = str(2**31)
    assert refused(session, extracts.write(tmp_path, frames)) == [
        "enterprises.csv:2:employees: above 10,000,000 (the contract's maximum): 2147483648"
    ]


def test_infinity_in_parquet_is_refused(session: Session, tmp_path: Path) -> None:
    frames = extracts.tables()
    accidents = frames["accidents"].copy()
    accidents["direct_loss_cny"] = pd.Series([float("inf")])
    frames["accidents"] = accidents
    assert refused(session, extracts.write(tmp_path, frames, "parquet")) == [
        "accidents.csv:2:direct_loss_cny: not a finite number: 'inf'".replace(
            "accidents.csv:2", "accidents.parquet:1"
        )
    ]


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85"])
def test_control_characters_in_text_are_refused(
    session: Session, tmp_path: Path, char: str
) -> None:
    frames = extracts.tables()
    frames["enterprises"].loc[1, "name"] = f"大同某化工{char}有限公司"
    assert refused(session, extracts.write(tmp_path, frames)) == [
        f"enterprises.csv:3:name: control character U+{ord(char):04X} in the text"
    ]


def _gb18030(folder: Path) -> Path:
    for name, frame in extracts.tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False, encoding="gb18030")
    return folder


def test_undecodable_bytes_are_refused_and_gb18030_loads_when_named(
    session: Session, tmp_path: Path
) -> None:
    folder = _gb18030(tmp_path)
    problems = refused(session, folder)
    assert len(problems) == 1
    assert problems[0].startswith("enterprises.csv:2:name: bytes ")
    assert "are not valid utf-8" in problems[0] and "--encoding gb18030" in problems[0]
    report = load(session, folder, encoding="gb18030")
    assert report.written == 11
    names = pd.read_csv(folder / "enterprises.csv", encoding="gb18030")["name"].tolist()
    assert names == extracts.tables()["enterprises"]["name"].tolist()


def test_a_utf8_byte_order_mark_is_accepted(session: Session, tmp_path: Path) -> None:
    folder = extracts.write(tmp_path, extracts.tables())
    for path in folder.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load(session, folder, known_on=KNOWN_ON).written == 11


def test_an_export_lists_every_file_with_its_rows_and_hash(tmp_path: Path) -> None:
    world = simulate(40, 2, seed=3, end=END)
    out = tmp_path / "export"
    manifest = write_export(out, versioned(world.tables), buckets=4)
    files, problems = read_files(out)
    assert files is not None and problems == []
    assert read_manifest(out) == manifest
    by_table: dict[str, int] = {}
    for name, entry in files.items():
        by_table[name.split("/")[0]] = by_table.get(name.split("/")[0], 0) + entry["rows"]
    assert by_table == manifest.rows
    assert check_files(out, files, {}) == []
    part = next(out.glob("accidents/bucket=*/part-0.parquet"))
    cut(part, part.stat().st_size // 2)
    assert [p.file for p in check_files(out, files, {})] == [str(part.relative_to(out))]
