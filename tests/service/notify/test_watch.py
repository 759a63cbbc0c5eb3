"""Watchlists: a code failing only its check character is accepted when it is a real one."""

from __future__ import annotations

import pytest

from service.engine.notify.errors import NotifyInputError
from service.engine.notify.watch import create_watchlist
from tests.registry.conftest import History
from tests.service.notify.conftest import new_key

PILOT = "91350203M0001QAY9B"  # an early pilot-area code: its check character fails


def test_a_real_code_with_a_failing_check_character_may_be_watched(db) -> None:
    insurer = new_key(db, "insurer")
    with db.sessions() as session, session.begin():
        with pytest.raises(NotifyInputError, match="check character is wrong"):
            create_watchlist(session, principal=insurer, name="pilot", codes=[PILOT], most=10)
        History(session).enterprise(uscc=PILOT)
        made = create_watchlist(session, principal=insurer, name="pilot", codes=[PILOT], most=10)
        assert made.name == "pilot"
