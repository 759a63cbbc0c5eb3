"""The registry's tables, on the shared :data:`features.tables.metadata`.

An entry holds what was proposed (rule, unit, evidence, penalty decision, deciding department,
persons named). Everything that happens to it is an appended, dated, attributed action; its
status is derived from those actions and a date, never stored. Every action is a link in one
hash chain (``chain_seq`` orders it; ``registry_chain`` keeps the head). ``version`` on the entry
is the optimistic lock that lets exactly one of two simultaneous actions through.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from features.tables import Base

GENESIS = "0" * 64


class Entry(Base):
    __tablename__ = "registry_entries"
    __table_args__ = (
        Index("ix_registry_entries_uscc", "uscc"),
        Index("ix_registry_entries_penalty", "penalty_decision_id"),
    )

    entry_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # sha256 of (list type, uscc, penalty decision): one entry per penalty decision (entries
    # made before 0004 keep the sha256 of (list type, rule, uscc, evidence) they were made with)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    list_type: Mapped[str] = mapped_column(String(32))
    policy_id: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(32))
    policy_sha256: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(8))
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str] = mapped_column(Text)
    penalty_decision_id: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[list[Any]] = mapped_column(JSON)  # [{"table": …, "id": …}, …], all grounds
    # every rule the penalty decision's conduct meets: [{"rule", "evidence", "event_on"}, …]
    grounds: Mapped[list[Any]] = mapped_column(JSON)
    persons: Mapped[list[Any]] = mapped_column(JSON)  # [{"role": …, "name": …}, …]
    event_on: Mapped[dt.date] = mapped_column(Date)  # the triggering event's date
    evaluated_as_of: Mapped[dt.date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)  # optimistic lock: +1 per action


class Action(Base):
    __tablename__ = "registry_actions"
    __table_args__ = (UniqueConstraint("entry_id", "seq", name="uq_registry_actions_entry_id_seq"),)

    action_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_seq: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, … over the registry
    entry_id: Mapped[str] = mapped_column(ForeignKey("registry_entries.entry_id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the entry
    action: Mapped[str] = mapped_column(String(16))
    acted_on: Mapped[dt.date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))  # sha256(content + prev_hash)
    seal: Mapped[str] = mapped_column(String(64))  # HMAC of (chain, chain_seq, hash): registry.seal


class ChainHead(Base):
    """One row: the length, head hash and last recorded time of the action chain, signed with
    the key outside the database (catches a deleted tail, an edited head)."""

    __tablename__ = "registry_chain"

    chain_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    length: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # last row's
    legacy_length: Mapped[int] = mapped_column(Integer)  # rows chained before revision 0005
    key_id: Mapped[str] = mapped_column(String(16))  # which key seals the chain
    signature: Mapped[str] = mapped_column(Text)  # HMAC-SHA256 of the head: registry.hashchain


class Attachment(Base):
    """A file attached to an enterprise's filing (objection, repair application): kept here,
    in the action's transaction, so a refused filing leaves no file behind; its sha256 is in
    the action's details and so under the chain."""

    __tablename__ = "registry_attachments"
    __table_args__ = (
        UniqueConstraint(
            "entry_id", "seq", "sha256", name="uq_registry_attachments_entry_id_seq_sha256"
        ),
        Index("ix_registry_attachments_entry_id_sha256", "entry_id", "sha256"),
    )

    attachment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("registry_entries.entry_id"))
    seq: Mapped[int] = mapped_column(Integer)  # the action's step within the entry
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(Text)  # as the enterprise named it
    media_type: Mapped[str] = mapped_column(String(32))  # from the file's first bytes
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
