"""The service's tables, on the shared :data:`features.tables.metadata`: API keys (only their
hashes) and the decision ledger (every score, quote and check answered)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from features.tables import Base


class ApiKey(Base):
    """An API key. The secret is never stored: only its sha256 (the secret is 256 random bits, so
    a fast hash is enough). A revoked key stays, with the time it was revoked."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    uscc: Mapped[str | None] = mapped_column(String(18))  # enterprise keys: the one code
    department: Mapped[str | None] = mapped_column(Text)  # regulator keys: who acts on entries
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    """One answer given: what was asked (and its hash), the versions that answered, the output
    and its reasons. Rows are only ever inserted."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_subject", "subject"),)

    decision_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "score", "quote" or "check"
    subject: Mapped[str | None] = mapped_column(String(18))  # the USCC when there is one
    key_id: Mapped[str | None] = mapped_column(String(16))  # who asked
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
