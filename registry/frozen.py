"""The registry index frozen at one chain head and last load: what a read-only check answers
from on the event loop, with no SQL.

A :class:`Frozen` is never changed once made; a fresher one replaces it whole. It answers what
the live index answers for the prefix it was taken at (:class:`~registry.index.Known`), so a
check answered from it replays equal against that prefix. It holds the enterprise versions only
of the codes the live index had read by then: a code it does not hold is answered elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from registry.index import InForce, Known, RegistryIndex

Firm = tuple[tuple[dt.date, int, str | None], ...]  # (known_from, load, name) by version


@dataclass(frozen=True, slots=True)
class Frozen:
    """The registry as known at ``known``, its chain head ``chain`` ("length:hash")."""

    known: Known
    chain: str
    loaded_at: Any  # with ``known.load``: the event store's version
    firms: Mapping[str, Firm]
    uscc_ids: Mapping[str, int]
    a_uscc: np.ndarray
    a_start: np.ndarray
    a_end: np.ndarray
    views: tuple[InForce, ...]  # one per interval, in the arrays' order
    published: Mapping[str, dt.date]  # each code's first publication, as known

    def in_force(
        self, usccs: Sequence[str], as_of: dt.date, known: Known | None = None
    ) -> list[InForce]:
        """Every entry of ``usccs`` in force on ``as_of``, as the registry knew it at
        ``self.known`` (``known``, if given, must be that)."""
        assert known is None or known == self.known
        ids = [self.uscc_ids[u] for u in usccs if u in self.uscc_ids]
        if not ids or not len(self.views):
            return []
        day = np.datetime64(as_of, "D")
        hit = np.isin(self.a_uscc, np.array(ids)) & (self.a_start <= day) & (day < self.a_end)
        return [self.views[i] for i in np.flatnonzero(hit)]

    def ever_published(self, uscc: str, as_of: dt.date, known: Known | None = None) -> bool:
        assert known is None or known == self.known
        first = self.published.get(uscc)
        return first is not None and first <= as_of

    def held(self, usccs: Sequence[str], as_of: dt.date) -> dict[str, str | None] | None:
        """As :meth:`RegistryIndex.held` at ``known.load``; None when a code's enterprise
        versions were not read yet (the live index reads them)."""
        if any(u not in self.firms for u in usccs):
            return None
        out: dict[str, str | None] = {}
        for uscc in usccs:
            for known_from, load_id, name in reversed(self.firms[uscc]):
                if known_from <= as_of and load_id <= self.known.load:
                    out[uscc] = name
                    break
        return out


def freeze(index: RegistryIndex, previous: Frozen | None = None) -> Frozen:
    """The index as it is now (call it holding ``index.lock``, after a refresh): ``previous``
    itself when nothing moved; what ``previous`` already froze at the same prefix is taken over
    when only more enterprises were read."""
    known = index.known
    firms: Mapping[str, Firm]
    if previous is not None and _same_prefix(previous, index):
        if len(previous.firms) == len(index.firms):
            return previous  # nothing moved, and no enterprise read since
        firms = MappingProxyType(dict(index.firms))
        return Frozen(
            known, previous.chain, previous.loaded_at, firms,
            previous.uscc_ids, previous.a_uscc, previous.a_start, previous.a_end,
            previous.views, previous.published,
        )  # fmt: skip
    firms = dict(index.firms)
    published: dict[str, dt.date] = {}
    for uscc, ids in index.by_uscc.items():
        days = [
            a.acted_on
            for entry_id in ids
            for a in index.acts.get(entry_id, ())
            if a.action == "publish" and a.chain_seq <= index.length
        ]
        if days:
            published[uscc] = min(days)
    return Frozen(
        known=known,
        chain=f"{index.length}:{index.head}",
        loaded_at=index.loaded_at,
        firms=MappingProxyType(firms),
        uscc_ids=MappingProxyType(dict(index.uscc_ids)),
        a_uscc=_read_only(index.a_uscc),
        a_start=_read_only(index.a_start),
        a_end=_read_only(index.a_end),
        views=index.views(),
        published=MappingProxyType(published),
    )


def _same_prefix(frozen: Frozen, index: RegistryIndex) -> bool:
    """Whether ``frozen`` was taken at the chain head and load ``index`` is at."""
    return (
        frozen.known == index.known
        and frozen.chain == f"{index.length}:{index.head}"
        and frozen.loaded_at == index.loaded_at
    )


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view
