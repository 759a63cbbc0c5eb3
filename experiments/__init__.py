"""Synthetic world, training runs, baselines, backtests and benchmarks."""
