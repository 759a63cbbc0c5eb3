"""The service's tables, on the shared :data:`features.tables.metadata`: API keys (only their
hashes), the enterprise page's sign-in sessions (only their ids' hashes) and the decision ledger
(every score, quote and check answered), a hash chain like the registry's with its signed head
row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
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
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # None: never
    # when the key was last accepted, to within a minute (written at most once a minute per key
    # and process, never on every request)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SignIn(Base):
    """A browser's sign-in on the pages: the cookie carries a random session id, of which only
    the sha256 is kept; the session acts as its key while neither is revoked nor expired."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_key_id", "key_id"),)

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), ForeignKey("api_keys.key_id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    """One answer given: what was asked (and its hash), the versions that answered, the output
    and its reasons. Rows are only ever inserted, each a link of the ledger's chain."""

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
    chain_seq: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, … gapless
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))  # sha256(content + prev_hash)
    seal: Mapped[str] = mapped_column(String(64))  # HMAC of (chain, chain_seq, hash)


class LedgerHead(Base):
    """One row: the length, head hash and time of the decision ledger's chain, signed."""

    __tablename__ = "ledger_chain"

    chain_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    length: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(Text)
