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
                rows.append((name, _edge(edges[i]), _edge(edges[i + 1]), factor * value))
        rows.append((name, "missing", "missing", factor * steps.missing))
    table = pd.DataFrame(rows, columns=["feature", "from", "to", "points"])
    table["points"] = table["points"].round(1)
    table.insert(1, "code", [CATALOGUE[f].code for f in table["feature"]])
    context = set(policy.conduct.context)
    table.insert(2, "in_score", [f not in context for f in table["feature"]])
    relative = set(getattr(getattr(model, "exposure_", None), "models", {}) or {})
    table.insert(
        3, "unit", ["observed/expected" if f in relative else "" for f in table["feature"]]
    )
    return table


def _edge(x: float) -> str:
    """A bin edge as people read it: LightGBM splits between two values, so 1.0000000180025095e-35
    is "0" and 2.0000000000000004 is "2"."""
    if np.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{float(f'{x:.4g}'):g}" if abs(x) > 1e-9 else "0"


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
    features: list[str] | None = None,
    relative: dict[str, float] | None = None,
) -> str:
    context = set(policy.conduct.context)
    shown = [n for n in CATALOGUE if features is None or n in features]
    lines = [
        "# safecredit-risk model card",
        "",
        f"Model version: {version or '(not registered)'}",
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
        "- **Probability and score.** The probability (all features) prices insurance. The credit "
        "score and grade leave out the context features "
        f"({', '.join(f'`{c}`' for c in sorted(context)) or 'none'}), which set the peer "
        "baseline and are never reasons.",
        "- **Peer method.** Each count of misconduct enters as (observed + k) / (expected + k): "
        "expected from a Poisson regression on industry and headcount band (1–9, 10–29, 30–99, "
        "100–299, 300–999, 1000+), k (credibility, in expected events) by the method of moments; "
        "a count out of another (hidden dangers late out of those due) expects the peers' share "
        "of its own denominator, so nothing due reads as the peers. "
        + (
            "Counts judged so, with k: "
            + ", ".join(f"`{n}` {k:.2f}" for n, k in sorted((relative or {}).items()))
            if relative
            else "No count is judged so in this model."
        ),
        "",
        "## Test metrics",
        "| model | AUC | KS | Brier | log loss | calibration error |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in metrics.items():
        if "brier" not in m:
            continue
        lines.append(
            f"| {name} | {m['auc']:.4f} | {m['ks']:.4f} | {m['brier']:.4f} | "
            f"{m['log_loss']:.4f} | {m['ece']:.4f} |"
        )
    if oracle_auc is not None:
        lines.append(f"| oracle (simulator truth) | {oracle_auc:.4f} | | | | |")
    if "candidate_interval" in metrics:
        i = metrics["candidate_interval"]
        lines += [
            "",
            f"Candidate AUC, bootstrap 95 % interval over the test dates: "
            f"{i['auc_lo']:.4f}–{i['auc_hi']:.4f}.",
        ]
    if "credit_score" in metrics:
        c = metrics["credit_score"]
        lines += [
            "",
            "| within peer groups (industry × band) | AUC | 95 % interval |",
            "|---|---|---|",
            f"| credit score (conduct only) | {c['auc_within_peers']:.4f} | "
            f"{c['auc_within_peers_lo']:.4f}–{c['auc_within_peers_hi']:.4f} |",
            f"| full probability | {c['full_auc_within_peers']:.4f} | "
            f"{c['full_auc_within_peers_lo']:.4f}–{c['full_auc_within_peers_hi']:.4f} |",
            "",
            f"The credit score's AUC over everyone: {c['auc']:.4f}.",
        ]
    lines += [
        "",
        "## Gates",
        *(f"- {g}" for g in gates),
        "",
        "## Features (risk: ↑ more is riskier, ↓ safer, · no direction)",
        *(
            f"- {f.code} `{n}` ({f.family}, {f.window or 'at as-of'}, {ARROWS[f.direction]}"
            + (", context: not in the score" if n in context else "")
            + ")"
            for n, f in ((n, CATALOGUE[n]) for n in shown)
        ),
    ]
    return "\n".join(lines) + "\n"
