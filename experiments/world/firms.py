"""The province's enterprises: industry, headcount, region, code, name, people, grade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.world.dates import to_days
from experiments.world.frames import conform
from experiments.world.params import Params
from features.uscc import ALPHABET, WEIGHTS

# GB 11714 organisation code: 8 body characters and a check character (weights below, mod 11).
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])
_BODY_LETTERS = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)  # no I, O, S, V, Z
_USCC_VALUE = np.full(128, -1, dtype=np.int64)
_USCC_VALUE[_BODY_LETTERS] = np.arange(len(ALPHABET))


@dataclass
class Firms:
    """The enterprises table plus the per-enterprise arrays the simulation needs."""

    frame: pd.DataFrame  # the contract's enterprises table, typed
    industry: np.ndarray  # index into Params.industries
    size: np.ndarray  # employees / the industry's median
    culture: np.ndarray  # persistent culture level (higher is safer)
    grade: np.ndarray  # standardisation grade 1–3, 0 for none
    permit: np.ndarray  # the industry needs a permit to operate
    local_department: np.ndarray  # county 应急管理局
    city_department: np.ndarray
    province_department: np.ndarray
    sector_department: np.ndarray

    @property
    def uscc(self) -> np.ndarray:
        return self.frame["uscc"].to_numpy(dtype=object)

    def __len__(self) -> int:
        return len(self.frame)


def build(rng: np.random.Generator, params: Params, n: int, before_day: int) -> Firms:
    """``n`` enterprises, all established before day ``before_day`` (days since 1970-01-01)."""
    f = params["firms"]
    ind = params.by_industry
    share = ind["share"] / ind["share"].sum()
    industry = rng.choice(len(share), size=n, p=share)
    median = ind["employees_median"][industry]
    employees = np.maximum(
        1, np.round(median * np.exp(ind["employees_sd"][industry] * rng.standard_normal(n)))
    ).astype(np.int64)
    size = employees / median
    culture = params["culture"]["persistent_sd"] * rng.standard_normal(n)
    region = _regions(rng, params, industry)
    regions = params["regions"]
    region_code = np.array([r["code"] for r in regions], dtype=object)[region]

    age_days = np.round(365.25 * (1 + rng.exponential(f["age_mean_years"], n))).astype(np.int64)
    earliest = to_days(params["calendar"]["established_from"])
    established = np.maximum(before_day - age_days, earliest)

    score = (
        culture / params["culture"]["persistent_sd"]
        + f["grade_size"] * np.log(size)
        + f["grade_noise"] * rng.standard_normal(n)
    )
    cut1, cut2, cut3 = f["grade_cuts"]
    grade = np.select(
        [(score > cut1) & (employees >= f["grade_1_min_employees"]), score > cut2, score > cut3],
        [1, 2, 3],
        default=0,
    )
    grade = np.where(params.standardization[industry], grade, 0)

    uscc = _codes(rng, region_code, f["modern_code"])
    names = _names(rng, params, industry, region)
    legal = _people(rng, params, n)
    principal = np.where(
        rng.random(n) < f["principal_is_legal_representative"], legal, _people(rng, params, n)
    )
    safety_lead = _people(rng, params, n).astype(object)
    safety_lead[(employees < 10) & (rng.random(n) < f["no_safety_lead_small"])] = None

    frame = conform(
        "enterprises",
        uscc=uscc,
        name=names,
        industry=np.array(params.industries, dtype=object)[industry],
        region_code=region_code,
        employees=employees,
        standardization_grade=np.array([None, "1", "2", "3"], dtype=object)[grade],
        established_on=established,
        legal_representative=legal.astype(object),
        principal=principal.astype(object),
        safety_lead=safety_lead,
    )
    return Firms(
        frame=frame,
        industry=industry,
        size=size,
        culture=culture,
        grade=grade,
        permit=params.permit[industry],
        **_departments(params, industry, region),
    )


def _regions(rng: np.random.Generator, params: Params, industry: np.ndarray) -> np.ndarray:
    regions = params["regions"]
    weight = np.array([float(r["weight"]) for r in regions])
    out = np.empty(len(industry), dtype=np.int64)
    for i, key in enumerate(params.industries):
        members = np.flatnonzero(industry == i)
        w = weight * np.array([float(r.get("boost", {}).get(key, 1.0)) for r in regions])
        out[members] = rng.choice(len(regions), size=len(members), p=w / w.sum())
    return out


def _codes(rng: np.random.Generator, region_code: np.ndarray, modern_share: float) -> np.ndarray:
    """Unique unified social credit codes: 91 + region + GB 11714 organisation code + check."""
    n = len(region_code)
    codes = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        m = len(todo)
        modern = rng.random(m) < modern_share
        body = np.where(
            modern[:, None],
            _BODY_LETTERS[rng.integers(0, len(_BODY_LETTERS), (m, 8))],
            rng.integers(ord("0"), ord("9") + 1, (m, 8)).astype(np.uint8),
        ).astype(np.uint8)
        body[modern, 0], body[modern, 1] = ord("M"), ord("A")
        digit = body <= ord("9")
        value = np.where(digit, body.astype(np.int64) - ord("0"), body.astype(np.int64) - 55)
        check = 11 - (value * _ORG_WEIGHTS).sum(axis=1) % 11
        check_char = np.where(
            check == 10, ord("X"), np.where(check == 11, ord("0"), ord("0") + check)
        )
        head = np.frombuffer("".join("91" + c for c in region_code[todo]).encode(), np.uint8)
        first17 = np.concatenate(
            [head.reshape(m, 8), body, check_char.astype(np.uint8)[:, None]], axis=1
        )
        total = (_USCC_VALUE[first17] * np.array(WEIGHTS)).sum(axis=1)
        last = _BODY_LETTERS[(31 - total % 31) % 31]
        full = np.ascontiguousarray(np.concatenate([first17, last[:, None]], axis=1))
        codes[todo] = full.view("S18").ravel().astype(str).astype(object)
        todo = np.flatnonzero(pd.Series(codes).duplicated(keep="first").to_numpy())
    return codes


def _names(
    rng: np.random.Generator, params: Params, industry: np.ndarray, region: np.ndarray
) -> np.ndarray:
    """Names like 太原鑫源煤业有限公司, unique within the province."""
    nm = params["names"]
    n = len(industry)
    regions = params["regions"]
    city = np.array([r["city"].removesuffix("市") for r in regions], dtype=object)
    province = np.array([_short(r["province"]) for r in regions], dtype=object)
    place = np.where(rng.random(n) < 0.75, city[region], province[region])
    first = np.array(nm["brand_first"], dtype=object)
    second = np.array(nm["brand_second"], dtype=object)
    brand = first[rng.integers(0, len(first), n)] + second[rng.integers(0, len(second), n)]
    words = np.array([w for group in params.words for w in group], dtype=object)
    counts = np.array([len(group) for group in params.words])
    offset = np.concatenate([[0], np.cumsum(counts)[:-1]])
    word = words[offset[industry] + (rng.random(n) * counts[industry]).astype(np.int64)]
    suffixes = list(nm["suffixes"])
    weights = np.array([float(nm["suffixes"][s]) for s in suffixes])
    suffix = np.array(suffixes, dtype=object)[
        rng.choice(len(suffixes), n, p=weights / weights.sum())
    ]
    names = pd.Series(place + brand + word + suffix)
    for _ in range(20):
        dup = names.duplicated(keep="first").to_numpy()
        if not dup.any():
            break
        brand[dup] = brand[dup] + second[rng.integers(0, len(second), int(dup.sum()))]
        names[dup] = (place + brand + word + suffix)[dup]
    return names.to_numpy(dtype=object)


def _people(rng: np.random.Generator, params: Params, n: int) -> np.ndarray:
    nm = params["names"]
    surname = np.array(nm["surnames"], dtype=object)
    given = np.array(nm["given"], dtype=object)
    one = given[rng.integers(0, len(given), n)]
    two = np.where(rng.random(n) < 0.7, given[rng.integers(0, len(given), n)], "")
    return surname[rng.integers(0, len(surname), n)] + one + two


def _short(province: str) -> str:
    return province.removesuffix("自治区").removesuffix("省").removesuffix("市")


def _departments(params: Params, industry: np.ndarray, region: np.ndarray) -> dict[str, np.ndarray]:
    regions = params["regions"]
    local = np.array(
        [
            (r["county"] if r["county"].endswith("市") else r["city"] + r["county"]) + "应急管理局"
            for r in regions
        ],
        dtype=object,
    )
    city = np.array([r["city"] + "应急管理局" for r in regions], dtype=object)
    province = np.array([r["province"] + "应急管理厅" for r in regions], dtype=object)
    sector = np.array(
        [
            [
                template.format(
                    city=r["city"], province=r["province"], province_short=_short(r["province"])
                )
                for r in regions
            ]
            for template in params.departments
        ],
        dtype=object,
    )
    return {
        "local_department": local[region],
        "city_department": city[region],
        "province_department": province[region],
        "sector_department": sector[industry, region],
    }
