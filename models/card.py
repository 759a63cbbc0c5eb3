"""Documents logged with a model: the points table (a scorecard of the additive model) and the
model card."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE
from models.policy import ScoringPolicy
from models.risk import RiskModel

ARROWS = {1: "↑", -1: "↓", 0: "·"}


def points_table(model: RiskModel, policy: ScoringPolicy) -> pd.DataFrame:
    """Per feature and value range, the points it adds (+) or costs (−) against the average
    enterprise. Exact for an additive model: the score is the base points plus one row per
    feature."""
    if model.steps_ is None:
        return pd.DataFrame(columns=["feature", "from", "to", "points"])
    factor = -policy.scale.factor * model.calibration_[0]
    rows = []
    for name, steps in model.steps_.steps.items():
        if steps.categorical:
            for code, category in enumerate(model.categories[name]):
                rows.append((name, category, category, factor * steps.values[code]))
        else:
            edges = np.r_[-np.inf, steps.thresholds, np.inf]
            for i, value in enumerate(steps.values):
                rows.append((name, edges[i], edges[i + 1], factor * value))
        rows.append((name, "missing", "missing", factor * steps.missing))
    table = pd.DataFrame(rows, columns=["feature", "from", "to", "points"])
    table["points"] = table["points"].round(1)
    return table


def model_card(
    *,
    version: str | None,
    metrics: dict[str, dict[str, float]],
    oracle_auc: float | None,
    split: dict[str, list[str]],
    rows: dict[str, int],
    pairs: list[tuple[str, str]],
    gates: list[str],
    policy: ScoringPolicy,
    catalogue_version: str,
    fingerprint: str,
) -> str:
    lines = [
        "# safecredit-risk model card",
        "",
        f"Model version: {version or '(registered on logging)'}",
        "",
        "**Predicts** the probability that the enterprise has an accident it is found responsible "
        "for within 12 months of the as-of date, from its work-safety history as known then.",
        "",
        "**Intended use**: safety credit scores and grades, floating insurance rates, and reasons "
        "an enterprise can act on. Not a finding of fault: listings follow the registry's rules.",
        "",
        "## Data",
        f"- as-of dates: train {split['train'][0]} … {split['train'][-1]}, validate "
        f"{', '.join(split['valid'])}, test {', '.join(split['test'])}",
        f"- rows: {', '.join(f'{k} {v:,}' for k, v in rows.items())}",
        f"- dataset sha256: `{fingerprint}`",
        f"- feature catalogue {catalogue_version}, scoring policy {policy.version}",
        "",
        "## Model",
        "- LightGBM, monotone in every feature with a catalogue direction, additive (one feature "
        "per tree)" + (f" plus interactions {pairs}" if pairs else "") + "; Platt calibration on "
        "the validation dates.",
        "- Per-feature contributions are exact TreeSHAP values; points add up to the score.",
        "",
        "## Test metrics",
        "| model | AUC | KS | Brier | log loss | calibration error |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in metrics.items():
        lines.append(
            f"| {name} | {m['auc']:.4f} | {m['ks']:.4f} | {m['brier']:.4f} | "
            f"{m['log_loss']:.4f} | {m['ece']:.4f} |"
        )
    if oracle_auc is not None:
        lines.append(f"| oracle (simulator truth) | {oracle_auc:.4f} | | | | |")
    lines += [
        "",
        "## Gates",
        *(f"- {g}" for g in gates),
        "",
        "## Features (risk: ↑ more is riskier, ↓ safer, · no direction)",
        *(
            f"- `{n}` ({f.family}, {f.window or 'at as-of'}, {ARROWS[f.direction]})"
            for n, f in CATALOGUE.items()
        ),
    ]
    return "\n".join(lines) + "\n"
