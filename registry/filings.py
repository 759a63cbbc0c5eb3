"""What each action may carry in its ``details``: a schema per action, dates as dates, known keys
only, and a size limit, so that nothing malformed enters the chain (and no later step trips over
it). What the procedure adds itself (objection deadline, terms, conditions) is not the caller's.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from registry.errors import InputError, TooLargeError

MAX_DETAILS_BYTES = 16_384  # the details of one action as JSON, UTF-8
MAX_ATTACHMENTS = 10  # files named by one filing (each file's size is the service's setting)
PERSON_ROLES = ("legal_representative", "principal", "safety_lead", "directly_responsible")
Text = Field(None, min_length=1, max_length=2_000)


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = Text


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)

    @field_validator("role")
    @classmethod
    def _role(cls, role: str) -> str:
        if role not in PERSON_ROLES:
            raise ValueError(f"{role!r} is not one of {list(PERSON_ROLES)}")
        return role


class Corrections(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    persons: tuple[Person, ...] | None = Field(None, max_length=20)
    note: str | None = Text


class CorrectDetails(_Details):
    corrections: Corrections


class AttachmentRef(BaseModel):
    """A file filed with the action: its sha256 puts its content under the chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=32)
    size: int = Field(ge=1)


Attachments = Field(None, min_length=1, max_length=MAX_ATTACHMENTS)


class ObjectDetails(_Details):
    grounds: str | None = Text  # what the enterprise disputes
    attachments: tuple[AttachmentRef, ...] | None = Attachments


class RepairDetails(_Details):
    commitment_signed_on: dt.date | None = None  # the credit commitment (信用承诺书)
    attachments: tuple[AttachmentRef, ...] | None = Attachments


SCHEMAS: dict[str, type[_Details]] = {
    "object": ObjectDetails,
    "apply_repair": RepairDetails,
    "correct": CorrectDetails,
}


def validated(action: str, given: Any) -> dict[str, Any]:
    """``given`` checked against the action's schema, as JSON keeps it (dates as ISO text);
    :class:`InputError` naming the field and why."""
    if not isinstance(given, dict):
        raise InputError("details: must be an object")
    size = len(json.dumps(given, ensure_ascii=False, default=str).encode())
    if size > MAX_DETAILS_BYTES:
        raise TooLargeError(f"details: {size:,} bytes; at most {MAX_DETAILS_BYTES:,}")
    schema = SCHEMAS.get(action, _Details)
    try:
        parsed = schema.model_validate(given)
    except ValidationError as exc:
        where = "; ".join(
            f"details.{'.'.join(str(x) for x in e['loc'])}: "
            + ("not a key this action takes" if e["type"] == "extra_forbidden" else e["msg"])
            for e in exc.errors()
        )
        raise InputError(f"{action}: {where}") from exc
    out: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
    if action == "correct" and not out["corrections"]:
        raise InputError(
            f"correct: details.corrections: name one of {list(Corrections.model_fields)}"
        )
    return out
