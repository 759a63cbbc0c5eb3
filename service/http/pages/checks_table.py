"""A check's answers as a table for the download: one row per code asked, in the order asked,
with the entries, measures, basis and incentives in words, and the ledger row they came from."""

from __future__ import annotations

from typing import Any

import pandas as pd

STATUS_ZH = {"restricted": "受限", "clear": "未受限", "not_found": "未找到", "invalid": "代码无效"}


def _entries(result: dict[str, Any]) -> str:
    return "; ".join(
        f"{e['entry_id']} {e['rule']} ({e['policy']}), {e['department']}, "
        f"published {e['published_on'] or '—'}, term ends {e['term_ends_on'] or '—'}"
        for e in result["entries"]
    )


def _grounds(result: dict[str, Any]) -> str:
    return "; ".join(
        f"{g['rule']} {g['title']}: {g['basis']}" for e in result["entries"] for g in e["grounds"]
    )


def results_frame(output: dict[str, Any], decision_id: str) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(output["results"]):
        rows.append(
            {
                "row": i + 1,
                "ref": r["ref"] or "",
                "uscc": r["uscc"],
                "name": r["name"] or "",
                "status": r["status"],
                "status_zh": STATUS_ZH[r["status"]],
                "restricted": r["restricted"],
                "grade": r["grade"] or "",
                "measures": "; ".join(f"{m['list_type']}: {m['measure']}" for m in r["measures"]),
                "measures_basis": "; ".join(m["basis"] for m in r["measures"]),
                "entries": _entries(r),
                "grounds": _grounds(r),
                "incentives": "; ".join(f"{x['measure']} ({x['basis']})" for x in r["incentives"]),
                "note": r["note"] or "",
                "domain": output["domain"],
                "as_of": output["as_of"],
                "known_at": output["known_at"],
                "decision_id": decision_id,
            }
        )
    return pd.DataFrame(rows)
