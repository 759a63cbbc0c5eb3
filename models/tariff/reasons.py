"""Each factor of a priced row as a sentence in Chinese and English, with its multiplier and the
numbers behind it, so an insurer or the enterprise can audit the rate line by line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from features.contracts import GRADE_NAMES, INDUSTRIES
from models.tariff.policy import Tariff

HONOUR_NAMES = {"none": ("无", "none"), "city": ("市级", "city"), "province": ("省级", "province")}


@dataclass(frozen=True)
class Factor:
    code: str  # model_risk, accident_experience, standardization, honours, listing
    multiplier: float
    zh: str
    en: str
    detail: dict[str, Any] = field(default_factory=dict)


def _num(x: Any) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def factors(tariff: Tariff, inputs: dict[str, Any], priced: dict[str, Any]) -> list[Factor]:
    """The factors of one row: ``inputs`` as given to :func:`models.tariff.rate.price` (plus
    ``accident_ids``, ``experience_window`` and ``listing_rules`` when known), ``priced`` its
    output row."""
    out = []
    industry = inputs["industry"]
    zh_industry = INDUSTRIES[industry][0]
    m = tariff.factors.model_risk
    f = float(priced["f_model_risk"])
    if m.enabled and m.basis == "conduct":
        rel, z, n = (
            float(priced["relative_risk"]),
            float(priced["credibility"]),
            inputs["headcount"],
        )
        out.append(
            Factor(
                "model_risk",
                f,
                f"信用分所反映的安全行为相对风险为{rel:.2f}（同行业、同规模企业平均为1）；"
                f"从业人员{n}人的可信度为{z:.2f}，系数{f:.3f}",
                f"relative risk of the conduct the credit score measures {rel:.2f} (1 for an "
                f"average enterprise of its trade and size; held within {m.relative_floor}–"
                f"{m.relative_cap}); credibility {z:.2f} for {n} persons "
                f"(K = {m.credibility_k:g}): ×{f:.3f}",
                {
                    "probability": float(inputs["probability"]),
                    "relative_risk": rel,
                    "credibility": z,
                    "credibility_k": m.credibility_k,
                    "basis": "conduct",
                },
            )
        )
    elif m.enabled:
        p, ref = float(inputs["probability"]), float(priced["reference"])
        rel, z, n = (
            float(priced["relative_risk"]),
            float(priced["credibility"]),
            inputs["headcount"],
        )
        band = priced["size_band"]
        out.append(
            Factor(
                "model_risk",
                f,
                f"模型评估12个月内发生负有责任事故的概率为{p:.2%}，{zh_industry}行业{band}人规模预期为"
                f"{ref:.2%}，相对风险{rel:.2f}；从业人员{n}人的可信度为{z:.2f}，系数{f:.3f}",
                f"modelled probability of a responsible accident within 12 months {p:.2%} against "
                f"{ref:.2%} expected for {industry} with {band} persons: relative risk {rel:.2f} "
                f"(held within {m.relative_floor}–{m.relative_cap}); credibility {z:.2f} for "
                f"{n} persons (K = {m.credibility_k:g}): ×{f:.3f}",
                {
                    "probability": p,
                    "reference": ref,
                    "relative_risk": rel,
                    "credibility": z,
                    "credibility_k": m.credibility_k,
                    "reference_source": tariff.reference_source,
                },
            )
        )
    grade = inputs["accident_grade"]
    f = float(priced["f_accident_experience"])
    span = inputs.get("experience_window", "")
    ids = inputs.get("accident_ids", "")
    if grade:
        zh = f"上年度（{span}）发生{GRADE_NAMES[grade]}生产安全事故（{ids}），系数{f:.2f}"
        en = f"a {grade} ({GRADE_NAMES[grade]}) accident in {span} ({ids}): ×{f:.2f}"
    else:
        zh = f"上年度（{span}）未发生生产安全事故，系数{f:.2f}"
        en = f"no accident in {span}: ×{f:.2f}"
    out.append(Factor("accident_experience", f, zh, en, {"grade": grade, "accidents": ids}))
    std = _num(inputs["standardization_grade"]) if inputs["standardization_grade"] != "" else None
    f = float(priced["f_standardization"])
    if std is None:
        zh, en = f"安全生产标准化未定级，系数{f:.2f}", f"no standardization grade: ×{f:.2f}"
    else:
        zh = f"安全生产标准化{int(std)}级，系数{f:.2f}"
        en = f"standardization (安全生产标准化) grade {int(std)}: ×{f:.2f}"
    out.append(Factor("standardization", f, zh, en, {"grade": None if std is None else int(std)}))
    honours = inputs["honours"]
    f = float(priced["f_honours"])
    zh_h, en_h = HONOUR_NAMES[honours]
    out.append(
        Factor(
            "honours",
            f,
            f"安全生产荣誉：{zh_h}，系数{f:.2f}",
            f"work-safety honours: {en_h}: ×{f:.2f}",
            {"honours": honours},
        )
    )
    f = float(priced["f_listing"])
    rules = inputs.get("listing_rules", "")
    if inputs["listed"]:
        zh = f"列入失信联合惩戒名单（{rules}），保险费率上浮，系数{f:.2f}"
        en = f"on a joint-punishment list ({rules}), insurance surcharge: ×{f:.2f}"
    else:
        zh, en = f"未列入失信联合惩戒名单，系数{f:.2f}", f"not on a joint-punishment list: ×{f:.2f}"
    out.append(Factor("listing", f, zh, en, {"rules": rules}))
    return out
