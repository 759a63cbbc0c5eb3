"""The process's frozen registry (:class:`registry.frozen.Frozen`), kept fresh: read-only checks
answer from it on the event loop.

A background task reads the chain head and the last load at most every ``refresh_ms`` (in a
thread), and replaces the frozen registry whole when either moved; a registry action made
through this process refreshes it before its own answer is given, so whoever acted sees it in
the next check. Another process's actions are seen within ``refresh_ms``. The frozen registry
holds every enterprise's versions, read once per load (up to ``registry.index.FIRMS_MAX`` codes;
beyond, those of the codes asked about so far: a code new to it is answered from the database
once, and read by the next refresh). When a refresh fails,
or none has succeeded for ten intervals, there is no frozen registry and checks take the
database path.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from registry.frozen import Frozen, freeze
from registry.index import RegistryIndex

log = logging.getLogger(__name__)
STALE_INTERVALS = 10  # a frozen registry not confirmed for this many intervals is not used


class Snapshots:
    def __init__(self, sessions: sessionmaker[Session], refresh_ms: float) -> None:
        self.sessions = sessions
        self.refresh_ms = refresh_ms
        self._frozen: Frozen | None = None
        self._confirmed = 0.0  # time.monotonic() of the last successful refresh
        self._frozen_at = 0.0  # … and of the one that froze ``_frozen``
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        # an index of its own: the requests' (registry.index.index_for) is refreshed by every
        # transaction, each as it reads the database; this one only by the refresh
        self._index = RegistryIndex()
        self._wanted: set[str] = set()  # codes asked about that ``_index`` has not read

    def want(self, codes: Iterable[str]) -> None:
        """Codes a check asked about whose enterprises the frozen registry did not hold: read
        by the next refresh."""
        with self._lock:
            self._wanted.update(codes)

    def current(self) -> Frozen | None:
        """The frozen registry, when one was confirmed fresh recently; None otherwise."""
        frozen = self._frozen
        stale = STALE_INTERVALS * self.refresh_ms / 1000
        if frozen is None or time.monotonic() - self._confirmed > stale:
            return None
        return frozen

    def refresh(self) -> Frozen:
        """Read the chain head and the last load, and freeze the registry anew if either moved
        (or the index read more enterprises meanwhile). Blocking: run it in a thread."""
        with self._lock:
            wanted, self._wanted = sorted(self._wanted), set()
        try:
            with self.sessions() as session, session.begin():
                index = self._index.refresh(session)  # brought up to the head read now
                if not index.firms:  # a new load (or the first refresh): every enterprise
                    index.hold_all(session)
                if wanted:  # their enterprise versions, read once per code and load
                    index.held(session, wanted, dt.date.max, index.load)
                with index.lock:
                    started = time.monotonic()
                    fresh = freeze(index, self._frozen)
        except Exception:
            with self._lock:
                self._frozen = None
                self._wanted.update(wanted)
            raise
        with self._lock:
            # frozen under the index's lock, so the later start saw the later registry: never
            # put back what a concurrent refresh already replaced
            if started >= self._frozen_at:
                self._frozen, self._frozen_at = fresh, started
            self._confirmed = max(self._confirmed, started)
        return fresh

    def changed(self) -> None:
        """:meth:`refresh` after a change made through this process; when it fails, there is
        no frozen registry (checks read the database) until the next refresh succeeds."""
        try:
            self.refresh()
        except Exception:
            log.exception("the registry snapshot could not be refreshed after a change")

    def start(self) -> None:
        """The background refresh, on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="registry refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # the cancellation asked for
                await self._task
            self._task = None
        self._frozen = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # the database is away: checks take the database path meanwhile
                log.exception("the registry snapshot could not be refreshed")
            await asyncio.sleep(self.refresh_ms / 1000)
