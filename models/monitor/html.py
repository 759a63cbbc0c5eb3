"""The report as one HTML page: plots inline (PNG, base64), tables, the breaches on top; no
script, no font or style from elsewhere, so it opens offline, and it reads at phone width."""

from __future__ import annotations

import base64
import io
import math
from html import escape
from typing import Any

from models.monitor.report import Report
from models.plots import Figure, plt

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:0.8rem;color:#222}
h1{font-size:1.35rem}h2{font-size:1.1rem;margin-top:1.6rem}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:0.85rem}
td,th{border-bottom:1px solid #ddd;padding:0.2rem 0.45rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}img{max-width:100%;height:auto}
.alarm{background:#fde8e8;border-left:4px solid #c62828;padding:0.5rem 0.8rem}
.ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:0.5rem 0.8rem}
small{color:#555}
"""


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _rates_plot(rows: list[dict[str, Any]], key: str, title: str) -> str:
    if not rows:
        return ""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = range(len(rows))
    rate = [r["rate"] for r in rows]
    err = [[r["rate"] - r["lo"] for r in rows], [r["hi"] - r["rate"] for r in rows]]
    ax.errorbar(x, rate, yerr=err, fmt="o", capsize=3, label="realised (Wilson interval)")
    ax.plot(x, [r["predicted"] for r in rows], "x", color="grey", label="predicted (mean)")
    ax.set_xticks(list(x), [str(r[key]) for r in rows], rotation=45 if len(rows) > 5 else 0)
    ax.set(ylabel="12-month accident rate", title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _lines_plot(rows: list[dict[str, Any]], series: dict[str, str], title: str) -> str:
    if not rows:
        return ""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = [str(r["book"]) for r in rows]
    for key, label in series.items():
        values = [math.nan if r.get(key) is None else float(r[key]) for r in rows]
        ax.plot(x, values, marker="o", label=label)
    ax.set(title=title, xlabel="book")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _psi_plot(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    top = sorted(rows, key=lambda r: -r["psi"])[:15]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(top) + 1))
    ax.barh([r["feature"] for r in top][::-1], [r["psi"] for r in top][::-1])
    ax.axvline(top[0]["limit"], color="#c62828", lw=1, ls="--")
    ax.set(title="PSI against the training data (largest 15)", xlabel="PSI")
    fig.tight_layout()
    return _png(fig)


def render(report: Report) -> str:
    d = report.as_dict()
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>safecredit monitor {escape(report.as_of)}</title><style>{STYLE}</style></head>",
        f"<body><h1>Did the grades come true? Monitor as of {escape(report.as_of)}</h1>",
        "<p><small>"
        + "; ".join(f"{escape(k)} {escape(v)}" for k, v in report.versions.items())
        + "</small></p>",
    ]
    if report.breaches:
        items = "".join(f"<li>{escape(b)}</li>" for b in report.breaches)
        parts.append(
            f"<div class='alarm'><b>{len(report.breaches)} threshold(s) exceeded</b>"
            f"<ul>{items}</ul></div>"
        )
    else:
        parts.append("<div class='ok'>No threshold exceeded.</div>")
    rows = d["rows"]
    parts.append(
        f"<p>{rows['books']} closed book(s) since {escape(report.since)}, "
        f"{rows['book_rows']:,} enterprise-books; outcome: a responsible accident within 12 "
        f"months of the book, as known on {escape(report.as_of)}.</p>"
    )
    rate_cols = ["n", "events", "rate", "lo", "hi", "predicted"]
    parts.append("<h2>Realised rates by grade (all closed books)</h2>")
    parts.append(_rates_plot(d["rates_by_grade_pooled"], "grade", "by grade"))
    parts.append(_table(d["rates_by_grade_pooled"], ["grade", *rate_cols]))
    parts.append("<h2>Realised rates by grade and book</h2>")
    parts.append(_table(d["rates_by_grade"], ["book", "grade", *rate_cols]))
    parts.append("<h2>Realised rates by score band</h2>")
    parts.append(_rates_plot(d["rates_by_band"], "band", "by score band"))
    parts.append(_table(d["rates_by_band"], ["band", *rate_cols]))
    parts.append("<h2>Calibration over time</h2>")
    parts.append(
        _lines_plot(
            d["calibration"],
            {"predicted": "predicted", "rate": "realised"},
            "mean predicted and realised rate per book",
        )
    )
    parts.append(_table(d["calibration"], ["book", *rate_cols, "ratio", "in_training"]))
    parts.append("<h2>AUC and KS by quarter</h2>")
    parts.append(_lines_plot(d["discrimination"], {"auc": "AUC", "ks": "KS"}, "discrimination"))
    parts.append(_table(d["discrimination"], ["book", "n", "events", "auc", "ks", "in_training"]))
    parts.append(
        "<p><small>in_training: the book's date is among the champion's training dates, so its "
        "figures are in-sample (optimistic).</small></p>"
    )
    m = d["migration"]
    parts.append(f"<h2>Grade migration {escape(m['from'])} → {escape(m['to'])}</h2>")
    mig = [
        {"from \\ to": g, **dict(zip(m["grades"], row, strict=True))}
        for g, row in zip(m["grades"], m["counts"], strict=False)
    ]
    parts.append(_table(mig, ["from \\ to", *m["grades"]]))
    parts.append("<h2>Drift: PSI against the training data</h2>")
    parts.append(
        f"<p><small>reference {d['psi_rows']['reference']:,} training rows, current "
        f"{d['psi_rows']['current']:,} enterprises</small></p>"
    )
    parts.append(_psi_plot(d["psi"]))
    parts.append(_table(sorted(d["psi"], key=lambda r: -r["psi"]), ["feature", "psi", "limit"]))
    parts.append("<h2>Loss ratio by tariff band</h2>")
    if d["loss_ratio"] is None:
        parts.append("<p>No priced policy whose period has closed: premiums unknown.</p>")
    else:
        parts.append(
            _table(d["loss_ratio"], ["band", "policies", "premium_cny", "loss_cny", "loss_ratio"])
        )
    parts.append("</body></html>")
    return "\n".join(parts)
