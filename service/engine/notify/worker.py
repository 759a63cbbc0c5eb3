"""The delivery worker (``safecredit notify run``, or a thread of ``safecredit serve`` with the
setting ``notify.worker_in_serve``): each round derives the expiries due by the registry's today,
fans new events out, claims a batch of due deliveries, POSTs them one by one and records each
answer as soon as it is in. Several workers may run against one database."""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from registry import clock
from service.engine.notify.dispatch import DELIVERED, claim, fan_out, settle
from service.engine.notify.expiry import derive_expiries
from service.engine.notify.grades import version_change
from service.engine.notify.sending import Claimed, post
from service.store.settings import NotifySettings, Settings

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass
class Rounds:
    """What a worker did so far."""

    expiries: int = 0
    fanned: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    states: dict[str, int] = field(default_factory=dict)


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: NotifySettings,
        *,
        time_zone: str = clock.TIME_ZONE,
        name: str | None = None,
        seed: int | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        """``seed``: the backoff's jitter (None: from the system)."""
        self.sessions, self.settings, self.time_zone = sessions, settings, time_zone
        self.name = name or worker_name()
        self.rng = random.Random(seed)
        self.done = Rounds()
        self.on_sent = on_sent
        self.stopping = threading.Event()
        self._count = threading.Lock()

    def round(self) -> int:
        """One round; how many deliveries were attempted."""
        with self.sessions() as session:
            with session.begin():
                self.done.expiries += derive_expiries(session, today=clock.today(self.time_zone))
            with session.begin():
                self.done.fanned += fan_out(session)
            with session.begin():
                batch = claim(
                    session,
                    worker=self.name,
                    batch=self.settings.batch,
                    lease_seconds=self.settings.lease_seconds,
                )
            if self.settings.concurrency == 1 or len(batch) < 2:
                for c in batch:
                    if self.stopping.is_set():
                        break  # the rest of the batch lapses with its lease
                    self._deliver(session, c)
            else:
                with ThreadPoolExecutor(self.settings.concurrency) as pool:
                    list(pool.map(self._deliver_alone, batch))
        return len(batch)

    def announce_tariff(self) -> None:
        """Announce the tariff version quotes are priced with, if it is new."""
        from models.tariff.policy import load_tariff

        label = load_tariff().label
        with self.sessions() as session, session.begin():
            version_change(session, name="tariff", value=label, on=clock.today(self.time_zone))

    def _deliver(self, session: Session, c: Claimed) -> None:
        """POST one delivery and record the answer at once, in its own transaction."""
        outcome = post(
            c, allowed=self.settings.allowed_hosts, timeout=self.settings.timeout_seconds
        )
        with session.begin():
            state = settle(
                session, c, outcome, worker=self.name, settings=self.settings, rng=self.rng
            )
        with self._count:
            self.done.sent += 1
            if state == DELIVERED:
                self.done.delivered += 1
            else:
                self.done.failed += 1
        if self.on_sent is not None:
            self.on_sent(c.event_id)

    def _deliver_alone(self, c: Claimed) -> None:
        if self.stopping.is_set():
            return  # its lease lapses
        with self.sessions() as session:
            self._deliver(session, c)

    def run(self, *, once: bool = False) -> Rounds:
        """Rounds until :meth:`stop` (``once``: until nothing is due), after announcing the
        tariff version if it is new."""
        try:
            self.announce_tariff()
        except Exception:
            if once:
                raise
            log.exception("notify worker %s: the tariff version not announced", self.name)
        while not self.stopping.is_set():
            try:
                worked = self.round()
            except Exception:
                if once:
                    raise
                log.exception("notify worker %s: round failed; trying again", self.name)
                worked = 0
            if worked == 0:
                if once:
                    break
                self.stopping.wait(self.settings.poll_seconds)
        return self.done

    def stop(self) -> None:
        self.stopping.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"notify {self.name}", daemon=True)
        thread.start()
        return thread


def start_worker(sessions: sessionmaker[Session], settings: Settings) -> Worker | None:
    """A worker thread beside the service when ``notify.worker_in_serve`` says so."""
    if not settings.notify.worker_in_serve:
        return None
    worker = Worker(sessions, settings.notify, time_zone=settings.registry.time_zone)
    worker.start_thread()
    return worker
