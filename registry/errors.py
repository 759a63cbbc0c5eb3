"""Errors of the registry. Each says what was refused and why; the service maps them to statuses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


class RegistryError(Exception):
    """Base of every registry error."""

    status_code = 400


class PolicyError(RegistryError):
    """A policy file is missing or invalid (the message names the file and the field)."""

    status_code = 500


class NotFoundError(RegistryError):
    status_code = 404


class ForbiddenError(RegistryError):
    """Only the department that imposed the penalty acts on the entry (谁处罚、谁决定、谁负责)."""

    status_code = 403


class TransitionError(RegistryError):
    """The procedure does not allow this action in the entry's current state (or on this date)."""

    status_code = 409

    def __init__(
        self, *, entry_id: str, action: str, state: str, allowed: Iterable[str], why: str = ""
    ) -> None:
        self.entry_id = entry_id
        self.action = action
        self.state = state
        self.allowed = tuple(sorted(allowed))
        detail = f": {why}" if why else ""
        super().__init__(
            f"entry {entry_id}: {action!r} is not allowed in state {state!r}{detail}; "
            f"allowed now: {', '.join(self.allowed) or 'none'}"
        )


class ConditionsError(RegistryError):
    """Repair (信用修复) refused: the conditions the policy names are not all met."""

    status_code = 422

    def __init__(self, *, entry_id: str, on: dt.date, failed: dict[str, str]) -> None:
        self.entry_id = entry_id
        self.failed = dict(failed)
        reasons = "; ".join(f"{k}: {v}" for k, v in self.failed.items())
        super().__init__(f"entry {entry_id}: repair conditions not met on {on}: {reasons}")


class ConflictError(RegistryError):
    """Someone else acted on the entry since it was read: read it again and retry."""

    status_code = 409


class InputError(RegistryError):
    """Bad arguments: too many codes, an unknown domain, a date out of order."""

    status_code = 422


class TooLargeError(InputError):
    """An action's details past their size limit."""

    status_code = 413
