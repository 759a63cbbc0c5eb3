"""Registry check throughput: 10,000 codes as of a date against 100,000 entries (in-process).

Enterprises, entries and their actions are written in bulk (with real chain hashes and seals,
under a scratch key) into a scratch SQLite file, then :func:`registry.check.check` is timed: as
the registry is known now (the interval index) and as it was known when half the chain was
recorded (each asked entry's status derived from its actions in that prefix). ``bench()``
returns the figures.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from features.tables import Enterprise, Load
from features.uscc import with_check
from registry import seal
from registry.chain import CHAIN, CHAIN_ID, row_hash, signed_head
from registry.check import check
from registry.index import Known, index_for
from registry.policy import find_policy
from registry.status import add_working_days
from registry.tables import GENESIS, Action, ChainHead, Entry
from service.store.db import make_engine, upgrade

DEPT = "基准测试应急管理局"


def _seed(session: Session, *, n_entries: int, n_codes: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    policy = find_policy("mem11")
    codes = [with_check(f"91140100{i:09d}") for i in range(n_codes)]
    owner = rng.integers(0, n_codes, n_entries)
    start = dt.date(2023, 10, 1)
    offsets = rng.integers(0, 900, n_entries)
    depth = rng.choice([1, 2, 3, 4, 6], n_entries, p=[0.05, 0.05, 0.1, 0.6, 0.2])
    now = dt.datetime.now(dt.UTC)
    terms = {
        "policy": policy.key,
        "policy_sha256": policy.sha256,
        "term_months": policy.term.months,
        "repeat_listing": False,
        "automatic_removal": policy.term.automatic_removal,
        "repair_allowed": policy.repair.allowed,
        "repair_after_months": policy.repair.after_months,
        "apply_within_days_before_expiry": None,
        "removal_effective": policy.repair.removal_effective,
        "fraud_restores": policy.repair.fraud_restores,
    }
    entries, actions = [], []
    prev, chain_seq = GENESIS, 0
    sealer = seal.current()
    for i in range(n_entries):
        entry_id = uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i).hex
        proposed = start + dt.timedelta(days=int(offsets[i]))
        entries.append(
            {
                "entry_id": entry_id,
                "identity": uuid.uuid4().hex + uuid.uuid4().hex,
                "list_type": policy.list_type,
                "policy_id": policy.id,
                "policy_version": policy.version,
                "policy_sha256": policy.sha256,
                "rule": "S6",
                "uscc": codes[owner[i]],
                "name": None,
                "department": DEPT,
                "penalty_decision_id": f"P{i}",
                "evidence": [{"table": "violations", "id": f"V{i}"}],
                "grounds": [
                    {
                        "rule": "S6",
                        "evidence": [{"table": "violations", "id": f"V{i}"}],
                        "event_on": proposed.isoformat(),
                    }
                ],
                "persons": [],
                "event_on": proposed,
                "evaluated_as_of": proposed,
                "version": int(depth[i]),
            }
        )
        notified = proposed + dt.timedelta(days=3)
        until = add_working_days(notified, policy.procedure.objection_working_days)
        published = until + dt.timedelta(days=10)
        steps = [
            ("propose", proposed, {}),
            ("notify", notified, {"objection_until": until.isoformat()}),
            ("decide", until + dt.timedelta(days=5), terms),
            ("publish", published, {}),
            (
                "apply_repair",
                published + dt.timedelta(days=400),
                {"commitment_signed_on": published.isoformat()},
            ),
            (
                "approve_repair",
                published + dt.timedelta(days=420),
                {"removed_on": (published + dt.timedelta(days=420)).isoformat()},
            ),
        ]
        for seq, (kind, on, details) in enumerate(steps[: int(depth[i])], start=1):
            chain_seq += 1
            row = SimpleNamespace(
                chain_seq=chain_seq,
                entry_id=entry_id,
                seq=seq,
                action=kind,
                acted_on=on,
                actor="bench",
                department=DEPT,
                reason="bench",
                details=details,
                recorded_at=now,
                prev_hash=prev,
            )
            row.hash = prev = row_hash(row)  # type: ignore[arg-type]
            row.seal = sealer.seal(CHAIN, chain_seq, row.hash)
            actions.append(
                {
                    c: getattr(row, c)
                    for c in (
                        "chain_seq",
                        "entry_id",
                        "seq",
                        "action",
                        "acted_on",
                        "actor",
                        "department",
                        "reason",
                        "details",
                        "recorded_at",
                        "prev_hash",
                        "hash",
                        "seal",
                    )
                }
            )
    load = session.execute(
        insert(Load)
        .values(loaded_at=now, known_on=start, source="bench", files={}, counts={})
        .returning(Load.load_id)
    ).scalar_one()
    session.execute(
        insert(Enterprise),
        [
            {
                "known_from": start,
                "content_hash": "0" * 32,
                "load_id": load,
                "uscc": code,
                "name": f"基准企业{i}",
                "industry": "mining",
                "region_code": "140100",
                "employees": 100,
                "standardization_grade": None,
                "established_on": dt.date(2010, 1, 1),
                "legal_representative": None,
                "principal": None,
                "safety_lead": None,
            }
            for i, code in enumerate(codes)
        ],
    )
    session.execute(insert(Entry), entries)
    session.execute(insert(Action), actions)
    session.execute(
        update(ChainHead)
        .where(ChainHead.chain_id == CHAIN_ID)
        .values(**signed_head(sealer, chain_seq, prev, now, 0))
    )
    session.commit()
    return codes


def bench(
    *,
    n_entries: int = 100_000,
    n_codes: int = 60_000,
    n_checks: int = 10_000,
    repeats: int = 3,
    seed: int = 7,
    url: str | None = None,
) -> dict[str, Any]:
    """Seed a scratch database and time checks; returns checks/s and the setting."""
    with tempfile.TemporaryDirectory() as tmp, seal.using(seal.load(Path(tmp) / "signing.key")):
        engine = make_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        with Session(engine) as session:
            t0 = time.perf_counter()
            codes = _seed(session, n_entries=n_entries, n_codes=n_codes, seed=seed)
            seeded = time.perf_counter() - t0
            rng = np.random.default_rng(seed + 1)
            asked = list(rng.choice(codes, n_checks, replace=False))
            restricted, times, earlier = 0, [], []
            for r in range(repeats + 1):  # the first call builds the in-process index
                day = dt.date(2025, 6, 30) + dt.timedelta(days=r)
                t = time.perf_counter()
                result = check(session, usccs=asked, domain="government_procurement", as_of=day)
                times.append(time.perf_counter() - t)
                restricted = sum(c.restricted for c in result)
                index = index_for(session)
                half = Known(index.length // 2, index.load)
                t = time.perf_counter()
                check(session, usccs=asked, domain="government_procurement", as_of=day, known=half)
                earlier.append(time.perf_counter() - t)
        engine.dispose()
    best = min(times[1:])
    return {
        "entries": n_entries,
        "codes": n_codes,
        "checks": n_checks,
        "restricted": restricted,
        "cold_seconds": round(times[0], 3),
        "cold_checks_per_second": round(n_checks / times[0]),
        "warm_seconds": [round(t, 4) for t in times[1:]],
        "checks_per_second": round(n_checks / best),
        "earlier_checks_per_second": round(n_checks / min(earlier[1:])),
        "seed_seconds": round(seeded, 1),
    }


def run() -> list[tuple[str, str]]:
    """``make bench`` rows."""
    r = bench()
    return [
        (
            "registry: entries / codes / checked",
            f"{r['entries']:,} / {r['codes']:,} / {r['checks']:,}",
        ),
        ("registry: checks/s, index warm (best of 3)", f"{r['checks_per_second']:,}"),
        (
            "registry: checks/s as known when half the chain was recorded",
            f"{r['earlier_checks_per_second']:,}",
        ),
        ("registry: checks/s, first call (builds the index)", f"{r['cold_checks_per_second']:,}"),
    ]
