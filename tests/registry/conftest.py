"""Helpers for registry tests: history rows inserted straight through ``features.tables``."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

import pytest
from sqlalchemy.orm import Session

from features.tables import Accident, Enterprise, Hazard, Load, Penalty, Violation
from features.uscc import with_check
from registry.policy import Policy, find_policy

D = dt.date
_codes = itertools.count(1)
_ids = itertools.count(1)
NATURAL = {
    Accident: "reported_on",
    Hazard: "found_on",
    Violation: "found_on",
    Penalty: "decided_on",
    Enterprise: "established_on",
}


def new_uscc() -> str:
    return with_check(f"91140100{next(_codes):09d}")


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


class History:
    """Adds history versions for one test (a ``Load`` row first, as the contract wants)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.load = Load(
            loaded_at=dt.datetime.now(dt.UTC),
            known_on=D(2030, 1, 1),
            source="tests",
            files={},
            counts={},
        )
        session.add(self.load)
        session.flush()

    def add(self, cls: type, known_from: dt.date | None = None, **fields: Any) -> Any:
        known = known_from or fields[NATURAL[cls]]
        digest = hashlib.md5(repr(sorted(fields.items())).encode()).hexdigest()
        row = cls(known_from=known, content_hash=digest, load_id=self.load.load_id, **fields)
        self.session.add(row)
        self.session.flush()
        return row

    def enterprise(self, industry: str = "mining", **over: Any) -> str:
        uscc = over.pop("uscc", None) or new_uscc()
        fields = dict(
            uscc=uscc,
            name=f"企业{uscc[-6:]}",
            industry=industry,
            region_code="140100",
            employees=120,
            standardization_grade="2",
            established_on=D(2010, 1, 1),
            legal_representative="张三",
            principal="李四",
            safety_lead="王五",
        )
        fields.update(over)
        self.add(Enterprise, **fields)
        return uscc

    def penalty(
        self,
        uscc: str,
        decided_on: dt.date,
        department: str | None = "太原市应急管理局",
        **over: Any,
    ) -> str:
        pid = over.pop("penalty_decision_id", None) or new_id("P")
        fields = dict(
            penalty_decision_id=pid,
            uscc=uscc,
            decided_on=decided_on,
            measure="fine",
            amount_cny=100_000.0,
            fine_multiplier=None,
            fulfilled_on=None,
            department=department,
        )
        fields.update(over)
        self.add(Penalty, **fields)
        return pid

    def accident(
        self,
        uscc: str,
        occurred_on: dt.date,
        deaths: int = 0,
        *,
        penalty: str | None = None,
        **over: Any,
    ) -> str:
        aid = over.pop("accident_id", None) or new_id("A")
        fields = dict(
            accident_id=aid,
            uscc=uscc,
            occurred_on=occurred_on,
            reported_on=occurred_on,
            deaths=deaths,
            serious_injuries=0,
            direct_loss_cny=10_000.0,
            reporting="on_time",
            responsible=True,
            penalty_decision_id=penalty,
            principal_fled=False,
        )
        fields.update(over)
        self.add(Accident, **fields)
        return aid

    def violation(
        self,
        uscc: str,
        found_on: dt.date,
        category: str,
        *,
        penalty: str | None = None,
        severity: str = "serious",
    ) -> str:
        vid = new_id("V")
        self.add(
            Violation,
            violation_id=vid,
            uscc=uscc,
            found_on=found_on,
            severity=severity,
            category=category,
            penalty_decision_id=penalty,
            inspection_id=None,
        )
        return vid

    def hazard(
        self,
        uscc: str,
        found_on: dt.date,
        due_on: dt.date,
        level: str = "major",
        rectified_on: dt.date | None = None,
    ) -> str:
        hid = new_id("H")
        self.add(
            Hazard,
            hazard_id=hid,
            uscc=uscc,
            found_on=found_on,
            level=level,
            due_on=due_on,
            rectified_on=rectified_on,
        )
        return hid


@pytest.fixture
def history(session: Session) -> History:
    return History(session)


@pytest.fixture(scope="session")
def mem11() -> Policy:
    return find_policy("mem11")


@pytest.fixture(scope="session")
def saws49() -> Policy:
    return find_policy("saws49")
