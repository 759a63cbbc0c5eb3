"""``make bench``: speed figures measured side by side in one run, printed as a table.

Absolute times drift on shared machines; read the ratios.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

SECTIONS = (
    "bench_ingest",
    "bench_features",
    "bench_registry",
    "bench_ledger",
    "bench_notify",
    "bench_scoring",
    "bench_service",
    "bench_spark",
)


def main() -> None:
    only = sys.argv[1:] or SECTIONS
    rows: list[tuple[str, str]] = []
    for name in only:
        module = importlib.import_module(f"experiments.{name}")
        start = time.perf_counter()
        print(f"… {name}", file=sys.stderr, flush=True)
        rows.extend(module.run())
        rows.append((f"{name}: wall time", f"{time.perf_counter() - start:.0f} s"))
    width = max(len(k) for k, _ in rows)
    print(f"\n{'figure':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"\nmachine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
