"""Event-history tables. Every record is kept as versions: a later extract that changes a record
adds a version known from that extract's date, so anything computed as of an earlier date is
unchanged. Nothing here is ever updated or deleted.

The one :data:`metadata` (with its naming convention) is shared by every package's tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = metadata


class Load(Base):
    """One ingestion of an extract folder."""

    __tablename__ = "loads"

    load_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    known_on: Mapped[dt.date] = mapped_column(Date)  # the extract's date: corrections count from it
    source: Mapped[str] = mapped_column(Text)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # name → {sha256, rows}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)  # table → {new, changed, unchanged}


class _Versioned:
    """Columns every history version carries."""

    version_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    known_from: Mapped[dt.date] = mapped_column(Date)
    content_hash: Mapped[str] = mapped_column(String(32))

    @declared_attr
    def load_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("loads.load_id"))


class Enterprise(_Versioned, Base):
    __tablename__ = "enterprises"
    __table_args__ = (
        Index("ix_enterprises_key", "uscc", "known_from"),
        # lookup by name: prefix by this B-tree; on PostgreSQL, "contains" by a trigram GIN
        # index that migration 0007 adds beside it (pg_trgm, not declared here)
        Index("ix_enterprises_name", "name"),
    )

    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(Text)
    industry: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))
    employees: Mapped[int] = mapped_column(Integer)
    standardization_grade: Mapped[str | None] = mapped_column(String(1))
    established_on: Mapped[dt.date] = mapped_column(Date)
    legal_representative: Mapped[str | None] = mapped_column(Text)
    principal: Mapped[str | None] = mapped_column(Text)
    safety_lead: Mapped[str | None] = mapped_column(Text)


class Inspection(_Versioned, Base):
    __tablename__ = "inspections"
    __table_args__ = (
        Index("ix_inspections_key", "inspection_id", "known_from"),
        Index("ix_inspections_uscc", "uscc"),
    )

    inspection_id: Mapped[str] = mapped_column(String(64))
    uscc: Mapped[str] = mapped_column(String(18))
    inspected_on: Mapped[dt.date] = mapped_column(Date)


class Violation(_Versioned, Base):
    __tablename__ = "violations"
    __table_args__ = (
        Index("ix_violations_key", "violation_id", "known_from"),
        Index("ix_violations_uscc", "uscc"),
    )

    violation_id: Mapped[str] = mapped_column(String(64))
    uscc: Mapped[str] = mapped_column(String(18))
    found_on: Mapped[dt.date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    penalty_decision_id: Mapped[str | None] = mapped_column(String(64))
    inspection_id: Mapped[str | None] = mapped_column(String(64))


class Penalty(_Versioned, Base):
    __tablename__ = "penalties"
    __table_args__ = (
        Index("ix_penalties_key", "penalty_decision_id", "known_from"),
        Index("ix_penalties_uscc", "uscc"),
    )

    penalty_decision_id: Mapped[str] = mapped_column(String(64))
    uscc: Mapped[str] = mapped_column(String(18))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    measure: Mapped[str] = mapped_column(String(32))
    amount_cny: Mapped[float | None] = mapped_column(Float)
    fine_multiplier: Mapped[int | None] = mapped_column(Integer)
    fulfilled_on: Mapped[dt.date | None] = mapped_column(Date)
    department: Mapped[str | None] = mapped_column(Text)


class Accident(_Versioned, Base):
    __tablename__ = "accidents"
    __table_args__ = (
        Index("ix_accidents_key", "accident_id", "known_from"),
        Index("ix_accidents_uscc", "uscc"),
    )

    accident_id: Mapped[str] = mapped_column(String(64))
    uscc: Mapped[str] = mapped_column(String(18))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    reported_on: Mapped[dt.date] = mapped_column(Date)
    deaths: Mapped[int] = mapped_column(Integer)
    serious_injuries: Mapped[int] = mapped_column(Integer)
    direct_loss_cny: Mapped[float] = mapped_column(Float)
    reporting: Mapped[str] = mapped_column(String(16))
    responsible: Mapped[bool] = mapped_column(Boolean)
    penalty_decision_id: Mapped[str | None] = mapped_column(String(64))
    principal_fled: Mapped[bool | None] = mapped_column(Boolean)


class Hazard(_Versioned, Base):
    __tablename__ = "hazards"
    __table_args__ = (
        Index("ix_hazards_key", "hazard_id", "known_from"),
        Index("ix_hazards_uscc", "uscc"),
    )

    hazard_id: Mapped[str] = mapped_column(String(64))
    uscc: Mapped[str] = mapped_column(String(18))
    found_on: Mapped[dt.date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[dt.date] = mapped_column(Date)
    rectified_on: Mapped[dt.date | None] = mapped_column(Date)
    found_by: Mapped[str | None] = mapped_column(String(16))


HISTORY_TABLES: dict[str, type[Base]] = {
    t.__tablename__: t for t in (Enterprise, Inspection, Penalty, Violation, Accident, Hazard)
}
