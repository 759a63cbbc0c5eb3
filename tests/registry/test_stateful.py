"""Random action sequences never break the invariants: every refused action changes nothing,
every accepted one moves the state as the transition table says, the status on any date is
derivable from the actions alone, and the chain verifies (SQLite, rolled back per example)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.tables import Penalty
from registry.chain import verify
from registry.check import check
from registry.errors import RegistryError
from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import act, actions_of, propose
from registry.status import ACTIONS, TRANSITIONS, status
from registry.tables import Entry
from service.store.db import make_engine, upgrade
from tests.registry.conftest import D, History

DEPT = "太原市应急管理局"
ENGINE = None


def _engine(tmp_dir):
    global ENGINE
    if ENGINE is None:
        ENGINE = make_engine(f"sqlite:///{tmp_dir / 'stateful.db'}")
        upgrade(ENGINE)
    return ENGINE


class Procedure(RuleBasedStateMachine):
    tmp_dir = None

    @initialize(policy=st.sampled_from(["mem11", "saws49"]), fulfilled=st.booleans())
    def start(self, policy, fulfilled):
        self.connection = _engine(self.tmp_dir).connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.policy = find_policy(policy)
        day = D(2024, 1, 5) if policy == "mem11" else D(2020, 1, 5)
        h = History(self.session)
        uscc = h.enterprise()
        self.pid = h.penalty(
            uscc,
            day + dt.timedelta(days=20),
            fulfilled_on=day + dt.timedelta(days=25) if fulfilled else None,
        )
        h.violation(uscc, day, "no_permit", penalty=self.pid)
        (p,) = evaluate(
            self.session, policy=self.policy, as_of=day + dt.timedelta(days=30), usccs=[uscc]
        )
        self.entry = propose(
            self.session,
            proposal=p,
            policy=self.policy,
            actor="r",
            department=DEPT,
            on=day + dt.timedelta(days=30),
        )
        self.today = day + dt.timedelta(days=30)

    def teardown(self):
        if getattr(self, "connection", None) is not None:
            self.session.close()
            self.outer.rollback()
            self.connection.close()

    def _acts(self):
        return actions_of(self.session, entry_id=self.entry.entry_id)

    @rule(
        action=st.sampled_from(sorted(ACTIONS - {"propose"})),
        days=st.integers(0, 400),
        own=st.booleans(),
        signed=st.booleans(),
    )
    def do(self, action, days, own, signed):
        on = self.today + dt.timedelta(days=days)
        before = [(a.seq, a.hash) for a in self._acts()]
        state = status(self._acts(), on=on).state
        version = self.session.scalar(
            select(Entry.version).where(Entry.entry_id == self.entry.entry_id)
        )
        details = {}
        if action == "apply_repair" and signed:
            details = {"commitment_signed_on": on.isoformat()}
        if action == "correct":
            details = {"corrections": {"note": f"step {len(before)}"}}
        try:
            with self.session.begin_nested():
                act(
                    self.session,
                    entry_id=self.entry.entry_id,
                    action=action,
                    actor="r",
                    department=DEPT if own else "别的部门",
                    on=on,
                    reason="random step",
                    details=details,
                )
        except RegistryError:
            after = [(a.seq, a.hash) for a in self._acts()]
            assert after == before
            assert (
                self.session.scalar(
                    select(Entry.version).where(Entry.entry_id == self.entry.entry_id)
                )
                == version
            )
            return
        assert own
        self.today = on
        new = status(self._acts(), on=on).state
        if action != "correct":
            expected = TRANSITIONS[state][action]
            assert new == expected or (
                new == "expired" and expected in {"published", "repair_applied"}
            )

    @rule(days=st.integers(0, 400))
    def fulfil_penalty(self, days):
        h = History(self.session)
        p = self.session.scalars(
            select(Penalty).where(Penalty.penalty_decision_id == self.pid)
        ).first()
        on = self.today + dt.timedelta(days=days)
        h.add(
            Penalty,
            known_from=on,
            penalty_decision_id=p.penalty_decision_id,
            uscc=p.uscc,
            decided_on=p.decided_on,
            measure=p.measure,
            amount_cny=p.amount_cny,
            fine_multiplier=None,
            fulfilled_on=on,
            department=p.department,
        )

    @invariant()
    def status_is_derivable(self):
        if not hasattr(self, "entry"):
            return
        acts = self._acts()
        assert [a.seq for a in acts] == list(range(1, len(acts) + 1))
        for probe in (acts[0].acted_on, self.today, self.today + dt.timedelta(days=800)):
            st_ = status(acts, on=probe)
            assert st_.state in TRANSITIONS
            assert st_ == status([a for a in acts if a.acted_on <= probe], on=probe)
            checked = check(self.session, usccs=[self.entry.uscc], domain="bidding", as_of=probe)
            assert checked[0].restricted == st_.in_force

    @invariant()
    def chain_verifies(self):
        if hasattr(self, "entry"):
            report = verify(self.session)
            assert report.ok, report.problems


@pytest.fixture
def machine(tmp_path_factory):
    Procedure.tmp_dir = tmp_path_factory.mktemp("stateful")
    return Procedure


def test_random_procedures_keep_invariants(machine):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
