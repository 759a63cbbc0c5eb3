"""A small hand-written extract that pins the contract's rules; tests mutate one cell at a time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.uscc import with_check

A = with_check("91140100MA0K00001")
B = with_check("91140200MA0K00002")


def tables() -> dict[str, pd.DataFrame]:
    return {
        "enterprises": pd.DataFrame(
            {
                "uscc": [A, B],
                "name": ["太原某矿业有限公司", "大同某化工有限公司"],
                "industry": ["mining", "hazardous_chemicals"],
                "region_code": ["140100", "140200"],
                "employees": ["320", "45"],
                "standardization_grade": ["2", ""],
                "established_on": ["2009-03-01", "2015-06-18"],
            }
        ),
        "inspections": pd.DataFrame(
            {
                "inspection_id": ["I1", "I2"],
                "uscc": [A, B],
                "inspected_on": ["2024-03-05", "2024-04-01"],
            }
        ),
        "penalties": pd.DataFrame(
            {
                "penalty_decision_id": ["P1", "P2"],
                "uscc": [A, A],
                "decided_on": ["2024-03-20", "2024-07-01"],
                "measure": ["fine", "fine"],
                "amount_cny": ["30000", "600000"],
                "fine_multiplier": ["", "3"],
                "fulfilled_on": ["2024-04-10", ""],
            }
        ),
        "violations": pd.DataFrame(
            {
                "violation_id": ["V1", "V2"],
                "uscc": [A, B],
                "found_on": ["2024-03-05", "2024-04-01"],
                "severity": ["serious", "general"],
                "category": ["equipment", "training"],
                "penalty_decision_id": ["P1", ""],
            }
        ),
        "accidents": pd.DataFrame(
            {
                "accident_id": ["C1"],
                "uscc": [A],
                "occurred_on": ["2024-06-02"],
                "reported_on": ["2024-06-02"],
                "deaths": ["1"],
                "serious_injuries": ["2"],
                "direct_loss_cny": ["1800000"],
                "reporting": ["on_time"],
                "responsible": ["true"],
                "penalty_decision_id": ["P2"],
            }
        ),
        "hazards": pd.DataFrame(
            {
                "hazard_id": ["H1", "H2"],
                "uscc": [A, B],
                "found_on": ["2024-03-05", "2024-04-01"],
                "level": ["major", "general"],
                "due_on": ["2024-04-05", "2024-05-01"],
                "rectified_on": ["", "2024-04-20"],
            }
        ),
    }


def write(folder: Path, frames: dict[str, pd.DataFrame], fmt: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder
