"""A quoted book as a table for the download, the full trail in both languages: per quote the
base rate, each factor (whatever factors the tariff has) with its multiplier, its reasons in
Chinese and English and the accident ids it counted, the product and the band, the uncapped rate
(before the renewal cap), last year's rate, the limit that applied and the premium; then the
refused rows with their reasons, and the totals."""

from __future__ import annotations

from typing import Any

import pandas as pd

from service.engine.quote_book import limit_applied


def accident_ids(quote: dict[str, Any]) -> str:
    """The accident ids any factor counted (the experience factor's), as its detail names them."""
    found = [
        str(f["detail"]["accidents"]) for f in quote["factors"] if f["detail"].get("accidents")
    ]
    return "; ".join(found)


def book_frame(
    output: dict[str, Any],
    refused: list[dict[str, Any]],
    rows: list[int],
    decision_id: str,
    renewal: tuple[float | None, float | None],
) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    for row, q in zip(rows, output["quotes"], strict=True):
        record: dict[str, Any] = {
            "row_type": "quote",
            "row": row,
            "uscc": q["uscc"],
            "industry": q["industry"],
            "compulsory": q["compulsory"],
            "headcount": q["headcount"],
            "insured_amount_cny": q["insured_amount_cny"],
            "period_start": q["period_start"],
            "period_end": q["period_end"],
            "as_of": q["as_of"],
            "size_band": q["size_band"],
            "base_rate": q["base_rate"],
        }
        for f in q["factors"]:
            record[f"{f['code']}_multiplier"] = f["multiplier"]
            record[f"{f['code']}_zh"] = f["zh"]
            record[f"{f['code']}_en"] = f["en"]
        limit = limit_applied(q, *renewal)
        record.update(
            accident_ids=accident_ids(q),
            product=q["product"],
            band=f"{q['band'][0]:g}–{q['band'][1]:g}",
            product_banded=q["product_banded"],
            rate_unbanded=round(q["base_rate"] * q["product"], 6),
            uncapped_rate=q["rate_banded"],
            previous_rate=q["previous_rate"],
            rate=q["rate"],
            limit_applied=limit.code,
            limit_zh=limit.zh,
            limit_en=limit.en,
            premium_cny=q["premium_cny"],
            score=q["score"],
            grade=q["grade"],
            probability=q["probability"],
            listings="; ".join(q["listings"]),
            tariff=q["versions"].get("tariff", q["tariff_version"]),
            model_version=q["model_version"],
            decision_id=decision_id,
        )
        records.append(record)
    for x in refused:
        records.append(
            {
                "row_type": "refused",
                "row": x["row"],
                "uscc": x["uscc"],
                "refused_error": x["error"],
                "refused_reason": x["detail"],
                "decision_id": decision_id,
            }
        )
    quotes = output["quotes"]
    records.append(
        {
            "row_type": "total",
            "uscc": f"{len(quotes)} quoted, {len(refused)} refused",
            "headcount": sum(q["headcount"] for q in quotes),
            "premium_cny": round(sum(q["premium_cny"] for q in quotes), 2),
            "decision_id": decision_id,
        }
    )
    return pd.DataFrame(records)
