"""The metrics table of the README: train on a simulated province and compare the candidate,
the baselines and the oracle on the same test period.

    uv run python -m experiments.model_report [ENTERPRISES] [YEARS] [SEED]
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

from experiments.simulate import simulate
from features.store import History
from models.pipeline import train

END = dt.date(2025, 12, 31)


def main(enterprises: int = 30_000, years: int = 6, seed: int = 7) -> None:
    started = time.perf_counter()
    world = simulate(enterprises, years, seed, end=END, progress=True)
    history = History.from_frames(world.tables)
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        result = train(
            history,
            end=END,
            tracking_uri=uri,
            artifact_root=Path(tmp) / "art",
            experiment="report",
            model_name="safecredit-risk",
            alias="champion",
            truth=world.truth,
            say=print,
        )
        run = MlflowClient(uri).get_run(result.run_id)
    m, p = run.data.metrics, run.data.params
    print(
        f"\n{enterprises:,} enterprises × {years} years, seed {seed}; test as-of "
        f"{p['test_dates']} ({p['rows_test']} rows), trained on {p['rows_train']} rows; "
        f"interactions kept: {p['interaction_pairs']}; {time.perf_counter() - started:.0f} s\n"
    )
    print("| model | AUC | KS | Brier | log loss | calibration error |")
    print("|---|---|---|---|---|---|")
    for name in ("candidate", "unconstrained", "scorecard"):
        print(
            f"| {name} | {m[f'{name}_auc']:.4f} | {m[f'{name}_ks']:.4f} | "
            f"{m[f'{name}_brier']:.4f} | {m[f'{name}_log_loss']:.4f} | {m[f'{name}_ece']:.4f} |"
        )
    print(f"| oracle (truth.csv) | {m['oracle_auc']:.4f} | | | | |")
    print(f"\ngates: {'passed' if result.gates.passed else '; '.join(result.gates.reasons)}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
