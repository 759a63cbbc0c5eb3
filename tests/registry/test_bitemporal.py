"""The date is the server's and status is bitemporal: actions with arbitrary effective dates,
entered in arbitrary order on a clock that moves on, never take effect after the day they are
recorded, and every check answered at some moment answers the same when asked again as the
registry was known then — however it was acted on later (SQLite, rolled back per example)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy.orm import Session

from registry import clock
from registry.check import check
from registry.errors import InputError, RegistryError
from registry.evaluate import evaluate
from registry.index import index_for
from registry.policy import find_policy
from registry.procedure import act, actions_of, propose
from registry.status import ACTIONS
from service.store.db import make_engine, upgrade
from tests.conftest import Clock
from tests.registry.conftest import D, History

DEPT = "太原市应急管理局"
ENGINE = None


def _engine(tmp_dir):
    global ENGINE
    if ENGINE is None:
        ENGINE = make_engine(f"sqlite:///{tmp_dir / 'bitemporal.db'}")
        upgrade(ENGINE)
    return ENGINE


def _answer(checked):
    return [
        (c.uscc, c.status, tuple((x.entry_id, x.state, x.published_on) for x in c.entries))
        for c in checked
    ]


class Bitemporal(RuleBasedStateMachine):
    tmp_dir = None

    @initialize(entries=st.integers(1, 2))
    def start(self, entries):
        self.real_now = clock.now
        self.clock = Clock(D(2024, 1, 1))
        clock.now = self.clock.now
        self.connection = _engine(self.tmp_dir).connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        policy = find_policy("mem11")
        h = History(self.session)
        self.codes, self.entries = [], []
        for _ in range(entries):
            uscc = h.enterprise()
            pid = h.penalty(uscc, D(2024, 1, 20))
            h.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
            (p,) = evaluate(self.session, policy=policy, as_of=D(2024, 2, 1), usccs=[uscc])
            self.clock.day = D(2024, 2, 1)
            entry = propose(
                self.session,
                proposal=p,
                policy=policy,
                actor="r",
                department=DEPT,
                on=D(2024, 2, 1),
                today=D(2024, 2, 1),
            )
            self.codes.append(uscc)
            self.entries.append(entry.entry_id)
        self.answers = []  # (known, known_at, as_of, answer)

    def teardown(self):
        if getattr(self, "connection", None) is not None:
            self.session.close()
            self.outer.rollback()
            self.connection.close()
        if getattr(self, "real_now", None) is not None:
            clock.now = self.real_now

    @rule(days=st.integers(0, 120))
    def time_passes(self, days):
        self.clock.day = self.clock.day + dt.timedelta(days=days)

    @rule(
        which=st.integers(0, 1),
        action=st.sampled_from(sorted(ACTIONS - {"propose", "correct"})),
        offset=st.integers(-45, 5),
        late=st.booleans(),
    )
    def enter(self, which, action, offset, late):
        entry_id = self.entries[which % len(self.entries)]
        today = self.clock.day
        on = today + dt.timedelta(days=offset)
        before = len(actions_of(self.session, entry_id=entry_id))
        try:
            with self.session.begin_nested():
                row = act(
                    self.session,
                    entry_id=entry_id,
                    action=action,
                    actor="r",
                    department=DEPT,
                    on=on,
                    reason="step",
                    details={"commitment_signed_on": on.isoformat()}
                    if action == "apply_repair"
                    else {},
                    today=today,
                    late_reason="entered from the paper file" if late else None,
                )
        except InputError:
            # refused for its date: in the future, beyond the grace, or late without a reason
            assert on > today or offset < -30 or not late
            assert len(actions_of(self.session, entry_id=entry_id)) == before
            return
        except RegistryError:
            assert len(actions_of(self.session, entry_id=entry_id)) == before
            return
        recorded_day = row.recorded_at.astimezone(clock.zone(clock.TIME_ZONE)).date()
        assert row.acted_on <= recorded_day  # nothing takes effect after it was recorded
        assert on == today or (late and today - on <= dt.timedelta(days=30))

    @rule(probe=st.integers(-60, 60))
    def ask(self, probe):
        as_of = self.clock.day + dt.timedelta(days=probe)
        index = index_for(self.session)
        known, moment = index.known, self.clock.now()
        answer = _answer(check(self.session, usccs=self.codes, domain="bidding", as_of=as_of))
        self.answers.append((known, moment, as_of, answer))

    @invariant()
    def answers_replay_as_given(self):
        if not getattr(self, "answers", None):
            return
        index = index_for(self.session)
        for known, moment, as_of, answer in self.answers:
            again = check(
                self.session, usccs=self.codes, domain="bidding", as_of=as_of, known=known
            )
            assert _answer(again) == answer
            assert index.known_at(self.session, moment).chain == known.chain

    @invariant()
    def the_interval_index_agrees_with_the_actions(self):
        if not getattr(self, "codes", None):
            return
        index = index_for(self.session)
        for probe in (D(2024, 2, 1), self.clock.day, self.clock.day + dt.timedelta(days=1200)):
            fast = index.in_force(self.codes, probe)
            slow = index._in_force_known(self.codes, probe, index.length)
            assert sorted(fast, key=lambda x: x.entry_id) == sorted(slow, key=lambda x: x.entry_id)


@pytest.fixture
def machine(tmp_path_factory):
    Bitemporal.tmp_dir = tmp_path_factory.mktemp("bitemporal")
    return Bitemporal


def test_replayed_checks_equal_their_answers_and_nothing_is_dated_ahead(machine):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
