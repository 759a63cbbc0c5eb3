"""Ingestion: every validation rule refuses the whole extract with file:row:column, loads are
transactions, repeating a load is idempotent, and corrections become new versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from features.ingest import IngestError, ingest
from features.tables import HISTORY_TABLES, Hazard, Load
from features.uscc import CheckMode
from tests.features import extracts

KNOWN_ON = dt.date(2024, 12, 31)


def counts(session: Session) -> dict[str, int]:
    tables = {**HISTORY_TABLES, "loads": Load}
    return {n: session.scalar(select(func.count()).select_from(t)) or 0 for n, t in tables.items()}


def load(session: Session, folder: Path, **kwargs):  # type: ignore[no-untyped-def]
    with session.begin_nested():
        return ingest(session, folder, known_on=kwargs.pop("known_on", KNOWN_ON), **kwargs)


def test_a_valid_extract_loads_every_table(session: Session, tmp_path: Path) -> None:
    report = load(session, extracts.write(tmp_path, extracts.tables()))
    assert report.load_id is not None
    assert {n: c["new"] for n, c in report.counts.items()} == {
        "enterprises": 2,
        "inspections": 2,
        "penalties": 2,
        "violations": 2,
        "accidents": 1,
        "hazards": 2,
    }
    assert counts(session)["loads"] == 1
    assert counts(session)["hazards"] == 2


def test_loading_the_same_folder_twice_changes_nothing(session: Session, tmp_path: Path) -> None:
    folder = extracts.write(tmp_path, extracts.tables())
    load(session, folder)
    before = counts(session)
    again = load(session, folder)
    assert again.load_id is None and again.written == 0
    assert counts(session) == before


def test_a_later_extract_adds_versions_and_keeps_the_earlier_ones(
    session: Session, tmp_path: Path
) -> None:
    load(session, extracts.write(tmp_path / "v1", extracts.tables()))
    later = extracts.tables()
    later["hazards"].loc[0, "rectified_on"] = "2025-01-20"  # H1 rectified
    later["penalties"].loc[1, "fulfilled_on"] = "2025-02-01"  # P2 carried out
    report = load(session, extracts.write(tmp_path / "v2", later), known_on=dt.date(2025, 3, 1))
    assert report.counts["hazards"] == {"new": 0, "changed": 1, "unchanged": 1}
    assert report.counts["penalties"] == {"new": 0, "changed": 1, "unchanged": 1}
    versions = session.execute(
        select(Hazard.known_from, Hazard.rectified_on)
        .where(Hazard.hazard_id == "H1")
        .order_by(Hazard.known_from)
    ).all()
    assert versions == [(dt.date(2024, 3, 5), None), (dt.date(2025, 3, 1), dt.date(2025, 1, 20))]


def test_a_deadline_may_lie_after_the_extracts_date(session: Session, tmp_path: Path) -> None:
    frames = extracts.tables()
    frames["hazards"].loc[0, "due_on"] = "2025-03-31"  # found 2024-03-05, still open, due ahead
    report = load(session, extracts.write(tmp_path, frames))
    assert report.counts["hazards"]["new"] == 2


def test_only_required_tables_are_enough(session: Session, tmp_path: Path) -> None:
    frames = extracts.tables()
    frames["accidents"] = frames["accidents"].drop(columns="penalty_decision_id")
    only = {k: frames[k] for k in ("enterprises", "accidents")}
    report = load(session, extracts.write(tmp_path, only))
    assert set(report.counts) == {"enterprises", "accidents"}


def test_parquet_loads_the_same_as_csv(session: Session, tmp_path: Path) -> None:
    csv = load(session, extracts.write(tmp_path / "csv", extracts.tables()))
    assert csv.written == 11
    parquet = load(session, extracts.write(tmp_path / "pq", extracts.tables(), "parquet"))
    assert parquet.written == 0  # identical content: nothing new


def _mutate(table: str, row: int, column: str, value: str):  # type: ignore[no-untyped-def]
    def change(frames: dict[str, pd.DataFrame]) -> None:
        frames[table].loc[row, column] = value

    return change


BAD = {
    "uscc malformed": (
        _mutate("enterprises", 0, "uscc", "91140100MA0K0001"),
        "enterprises.csv:2:uscc",
    ),
    "uscc check character": (
        _mutate("enterprises", 1, "uscc", "91140200MA0K00002X"),
        "enterprises.csv:3:uscc",
    ),
    "unknown industry": (
        _mutate("enterprises", 0, "industry", "alchemy"),
        "enterprises.csv:2:industry",
    ),
    "region code": (
        _mutate("enterprises", 1, "region_code", "14020"),
        "enterprises.csv:3:region_code",
    ),
    "grade": (
        _mutate("enterprises", 1, "standardization_grade", "4"),
        "enterprises.csv:3:standardization_grade",
    ),
    "negative employees": (
        _mutate("enterprises", 0, "employees", "-3"),
        "enterprises.csv:2:employees",
    ),
    "fractional employees": (
        _mutate("enterprises", 0, "employees", "3.5"),
        "enterprises.csv:2:employees",
    ),
    "not a date": (
        _mutate("inspections", 1, "inspected_on", "2024/04/01"),
        "inspections.csv:3:inspected_on",
    ),
    "date after load date": (
        _mutate("violations", 0, "found_on", "2025-01-02"),
        "violations.csv:2:found_on",
    ),
    "severity": (_mutate("violations", 1, "severity", "minor"), "violations.csv:3:severity"),
    "category": (_mutate("violations", 1, "category", "vibes"), "violations.csv:3:category"),
    "measure": (_mutate("penalties", 0, "measure", "scolding"), "penalties.csv:2:measure"),
    "negative amount": (_mutate("penalties", 0, "amount_cny", "-1"), "penalties.csv:2:amount_cny"),
    "multiplier above 5": (
        _mutate("penalties", 1, "fine_multiplier", "6"),
        "penalties.csv:3:fine_multiplier",
    ),
    "fulfilled before decided": (
        _mutate("penalties", 0, "fulfilled_on", "2024-03-01"),
        "penalties.csv:2:fulfilled_on",
    ),
    "reported before occurred": (
        _mutate("accidents", 0, "reported_on", "2024-06-01"),
        "accidents.csv:2:reported_on",
    ),
    "reporting": (_mutate("accidents", 0, "reporting", "whenever"), "accidents.csv:2:reporting"),
    "responsible": (_mutate("accidents", 0, "responsible", "maybe"), "accidents.csv:2:responsible"),
    "deaths not a number": (_mutate("accidents", 0, "deaths", "two"), "accidents.csv:2:deaths"),
    "rectified before found": (
        _mutate("hazards", 1, "rectified_on", "2024-03-31"),
        "hazards.csv:3:rectified_on",
    ),
    "due before found": (_mutate("hazards", 0, "due_on", "2024-03-01"), "hazards.csv:2:due_on"),
    "level": (_mutate("hazards", 0, "level", "huge"), "hazards.csv:2:level"),
    "empty required cell": (_mutate("hazards", 0, "due_on", ""), "hazards.csv:2:due_on"),
    "duplicate id": (_mutate("hazards", 1, "hazard_id", "H1"), "hazards.csv:3:hazard_id"),
    "unknown uscc": (
        _mutate("inspections", 0, "uscc", "91140100MA0K00001".replace("1", "2", 1) + "0"),
        "inspections.csv:2:uscc",
    ),
    "unknown penalty decision": (
        _mutate("violations", 1, "penalty_decision_id", "P9"),
        "violations.csv:3:penalty_decision_id",
    ),
    "missing column": (
        lambda f: f.update(hazards=f["hazards"].drop(columns="level")),
        "hazards.csv:1:level",
    ),
    "missing required table": (lambda f: f.pop("accidents"), "accidents.csv:0:-"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_whole_and_named(session: Session, tmp_path: Path, case: str) -> None:
    change, where = BAD[case]
    frames = extracts.tables()
    change(frames)
    before = counts(session)
    with pytest.raises(IngestError) as refused:
        load(session, extracts.write(tmp_path, frames))
    assert any(str(p).startswith(where + ":") for p in refused.value.problems), (
        refused.value.problems
    )
    assert counts(session) == before


def test_every_problem_is_reported_not_just_the_first(session: Session, tmp_path: Path) -> None:
    frames = extracts.tables()
    frames["hazards"]["level"] = "huge"
    frames["accidents"].loc[0, "deaths"] = "-1"
    with pytest.raises(IngestError) as refused:
        load(session, extracts.write(tmp_path, frames))
    assert [(p.file, p.row, p.column) for p in refused.value.problems] == [
        ("accidents.csv", 2, "deaths"),
        ("hazards.csv", 2, "level"),
        ("hazards.csv", 3, "level"),
    ]


def test_warn_mode_and_allow_list_accept_a_real_code_with_a_bad_check(
    session: Session, tmp_path: Path
) -> None:
    pilot = "91350203M0001QAY9B"  # an early pilot-area code that fails the check legitimately
    frames = extracts.tables()
    for frame in frames.values():
        frame.loc[frame["uscc"] == extracts.B, "uscc"] = pilot
    folder = extracts.write(tmp_path, frames)
    with pytest.raises(IngestError):
        load(session, folder)
    warned = load(session, folder, check_mode=CheckMode.WARN)
    assert [p.file for p in warned.warnings] == [
        "enterprises.csv",
        "hazards.csv",
        "inspections.csv",
        "violations.csv",
    ]
    allowed = load(session, folder, allow_list={pilot})
    assert allowed.written == 0 and allowed.warnings == []
