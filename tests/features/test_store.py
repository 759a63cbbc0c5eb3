"""The store round trip on SQLite and PostgreSQL: versions inserted through the tables and read
back with ``read_history`` give the same features as ``History.from_frames`` on the same data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import insert
from sqlalchemy.orm import Session

from experiments.simulate import simulate
from features.contracts import TABLES
from features.pit import as_of
from features.store import History, read_history
from features.tables import HISTORY_TABLES, Load

EXTRACT_ON = dt.date(2025, 3, 1)


def _load(session: Session) -> int:
    load = Load(
        loaded_at=dt.datetime.now(dt.UTC), known_on=EXTRACT_ON, source="test", files={}, counts={}
    )
    session.add(load)
    session.flush()
    return load.load_id


def _versions(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames as first versions, plus corrections known from the extract date: hazards
    rectified, penalties carried out, an enterprise grown."""
    out = {}
    for name, frame in frames.items():
        table = TABLES[name]
        frame = frame.assign(known_from=frame[table.known_on])
        fixes = frame.iloc[::7].copy()
        if name == "hazards":
            fixes = fixes[fixes["rectified_on"].isna()].assign(
                rectified_on=pd.Timestamp("2025-02-01")
            )
        elif name == "penalties":
            fixes = fixes.assign(fulfilled_on=pd.Timestamp("2025-02-15"))
        elif name == "enterprises":
            fixes = fixes.assign(employees=fixes["employees"] + 100, standardization_grade="1")
        else:
            fixes = fixes.iloc[0:0]
        fixes = fixes.assign(known_from=pd.Timestamp(EXTRACT_ON))
        out[name] = pd.concat([frame, fixes], ignore_index=True).assign(
            version_id=lambda f: np.arange(len(f))
        )
    return out


def _insert(session: Session, frames: dict[str, pd.DataFrame]) -> None:
    load_id = _load(session)
    for name, frame in frames.items():
        if frame.empty:
            continue
        table = TABLES[name]
        names = [c for c in table.names if c in frame.columns]
        cells = frame[[*names, "known_from"]].astype(object)
        for col in table.columns:
            if col.kind.value == "date" and col.name in names:
                cells[col.name] = [None if pd.isna(v) else v.date() for v in frame[col.name]]
        cells["known_from"] = [v.date() for v in frame["known_from"]]
        rows = cells.where(cells.notna(), None).to_dict("records")
        for row in rows:
            row.update(content_hash="0" * 32, load_id=load_id)
        session.execute(insert(HISTORY_TABLES[name]), rows)


def _pairs(usccs: list[str]) -> pd.DataFrame:
    dates = ["2019-06-30", "2024-12-31", "2025-01-20", "2025-03-01"]
    return pd.DataFrame([(u, d) for d in dates for u in usccs], columns=["uscc", "as_of"])


def test_read_history_gives_the_features_of_from_frames(session: Session):
    frames = _versions(simulate(12, 3, seed=21, end=dt.date(2025, 2, 28)).tables)
    _insert(session, frames)
    mine = list(frames["enterprises"]["uscc"].unique())
    stored = read_history(session, usccs=mine)
    assert set(stored.tables) == set(TABLES)
    pairs = _pairs(mine)
    pd.testing.assert_frame_equal(as_of(stored, pairs), as_of(History.from_frames(frames), pairs))
    assert stored.known_until == EXTRACT_ON


def test_read_history_for_some_enterprises_reads_only_theirs(session: Session):
    frames = _versions(simulate(6, 3, seed=22, end=dt.date(2025, 2, 28)).tables)
    _insert(session, frames)
    usccs = list(frames["enterprises"]["uscc"])
    stored = read_history(session, usccs=usccs[:2])
    for name, versions in stored.tables.items():
        assert set(versions.frame["uscc"]) <= set(usccs[:2]), name
    everyone = read_history(session)
    assert set(usccs) <= set(everyone.tables["enterprises"].frame["uscc"])
    pairs = _pairs(usccs[:2])
    pd.testing.assert_frame_equal(as_of(stored, pairs), as_of(everyone, pairs))


def test_an_optional_table_without_rows_is_absent_and_its_features_missing(session: Session):
    frames = simulate(3, 2, seed=23, end=dt.date(2025, 2, 28)).tables
    kept = {k: frames[k] for k in ("enterprises", "accidents")}
    _insert(session, _versions(kept))
    usccs = list(frames["enterprises"]["uscc"])
    # the database is shared: hazards stored by others make the table present (and empty for us)
    others_have_hazards = "hazards" in read_history(session, usccs=["nobody"]).tables
    stored = read_history(session, usccs=usccs)
    features = as_of(stored, _pairs(usccs))
    if others_have_hazards:
        assert stored.tables["hazards"].frame.empty
        assert (features["haz_open_major"] == 0).all()
    else:
        assert "hazards" not in stored.tables
        assert features["haz_open_major"].isna().all()
    assert set(stored.tables["enterprises"].frame["uscc"]) == set(usccs)
    latest = _pairs(usccs)["as_of"] == "2025-03-01"
    assert (features.loc[latest, "employees"] > 0).all()
