"""The benchmark runs end to end on a small registry and its checks agree with the pure status."""

from __future__ import annotations

from experiments.bench_registry import bench


def test_bench_small():
    figures = bench(n_entries=1_500, n_codes=1_000, n_checks=400, repeats=1)
    assert figures["checks"] == 400 and 0 < figures["restricted"] < 400
    assert figures["checks_per_second"] > 0 and len(figures["warm_seconds"]) == 1
