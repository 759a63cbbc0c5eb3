"""A renewal book quoted row by row: the rows that can be quoted are, and each row that cannot
is refused with its reason — a bad field (``bad_quote``, named as
:func:`service.engine.quotes.check` names it) or a code not known as of the row's date
(``not_found``). The insurer desk and the API's batch share it; a book none of whose rows can be
quoted raises as a whole.

Also the words for the limit that set a quote's final rate, the band or the renewal cap — and
a renewal cap that the band overrode says so."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.engine.books import Books
from service.engine.decisions import Listings
from service.engine.quotes import (
    Quote,
    QuoteError,
    Quoter,
    QuoteRequest,
    UnknownEnterprise,
    check,
    quote,
)


@dataclass(frozen=True)
class Refused:
    row: int  # 1-based, in the order asked
    uscc: str
    error: str  # bad_quote or not_found
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "uscc": self.uscc, "error": self.error, "detail": self.detail}


class NothingToQuote(QuoteError):
    """No row of the book can be quoted: each row's reason (``refused``)."""

    def __init__(self, refused: Sequence[Refused]) -> None:
        super().__init__([f"row {x.row}: {x.detail}" for x in refused])
        self.refused = list(refused)


@dataclass(frozen=True)
class Book:
    quoted: list[tuple[int, Quote]]  # (0-based row, quote), in the order asked
    refused: list[Refused]  # in the order asked


def quote_book(
    session: Session,
    quoter: Quoter,
    requests: Sequence[QuoteRequest],
    *,
    books: Books | None = None,
    listings: Listings | None = None,
) -> Book:
    """Quote every row that can be; refuse the others with their reasons. Raises
    :class:`NothingToQuote` (every row's problem, by row) when no row can be quoted."""
    refused: dict[int, Refused] = {}
    for i, r in enumerate(requests):
        try:
            check(quoter.tariff, [r])
        except QuoteError as exc:
            refused[i] = Refused(i + 1, str(r.uscc), QuoteError.kind, "; ".join(exc.problems))
    while True:
        rows = [i for i in range(len(requests)) if i not in refused]
        if not rows:
            raise NothingToQuote([refused[i] for i in sorted(refused)])
        try:
            priced = quote(
                session, quoter, [requests[i] for i in rows], books=books, listings=listings
            )
        except UnknownEnterprise as exc:
            unknown = set(exc.codes)
            if not unknown:
                raise
            for i in rows:
                r = requests[i]
                if r.uscc in unknown:
                    detail = f"uscc: not a known enterprise as of {r.when}"
                    refused[i] = Refused(i + 1, r.uscc, UnknownEnterprise.kind, detail)
            continue
        return Book(list(zip(rows, priced, strict=True)), [refused[i] for i in sorted(refused)])


@dataclass(frozen=True)
class Limit:
    code: str  # none, band_floor, band_cap, renewal_cap, renewal_floor, band_over_renewal
    zh: str
    en: str


def limit_applied(
    q: dict[str, Any], max_increase: float | None, max_decrease: float | None
) -> Limit:
    """Which limit set the final rate of the quote ``q`` (as its JSON has it), in both languages:
    none, the band's floor or cap on the product of the factors, the renewal cap (or floor)
    around last year's rate, or the band overriding the renewal limit."""
    base, product = q["base_rate"], q["product"]
    floor, cap = q["band"]
    rate, banded, previous = q["rate"], q["rate_banded"], q["previous_rate"]
    band_note_zh, band_note_en = "", ""
    if not math.isclose(product, q["product_banded"], rel_tol=1e-12):
        low = product < floor
        edge = floor if low else cap
        band_note_zh = f"因子乘积{product:.4f}{'低于区间下限' if low else '高于区间上限'}{edge:g}"
        band_note_en = f"the product {product:.4f} held at the band's {'floor' if low else 'cap'} "
        band_note_en += f"{edge:g}"
    if not q["renewal_capped"] or previous is None:
        if band_note_en:
            code = "band_floor" if product < floor else "band_cap"
            return Limit(
                code, f"{band_note_zh}，费率{rate:.4f}‰", f"{band_note_en}: rate {rate:.4f} ‰"
            )
        return Limit("none", "未触及上下限", "no limit applied")
    up, down = max_increase or 0.0, max_decrease or 0.0
    high, low = previous * (1 + up), previous * (1 - down)
    renewal = min(max(banded, low), high)
    raised = banded > high
    side_zh = f"续保上浮不超过{up:.0%}" if raised else f"续保下调不超过{down:.0%}"
    side_en = f"renewal cap +{up:.0%}" if raised else f"renewal floor −{down:.0%}"
    if math.isclose(rate, renewal, rel_tol=1e-9):
        code = "renewal_cap" if raised else "renewal_floor"
        return Limit(
            code,
            f"{side_zh}（上年{previous:.4f}‰）：{banded:.4f}‰调整为{rate:.4f}‰",
            f"{side_en} on last year's {previous:.4f} ‰: {banded:.4f} ‰ → {rate:.4f} ‰",
        )
    at_floor = rate >= renewal
    edge_zh = "低于浮动区间下限" if at_floor else "高于浮动区间上限"
    edge_en = "floor" if at_floor else "cap"
    edge = floor if at_floor else cap
    return Limit(
        "band_over_renewal",
        f"{side_zh}（上年{previous:.4f}‰）得{renewal:.4f}‰，{edge_zh}"
        f"（基准{base:.4f}‰×{edge:g}）：按区间{'下限' if at_floor else '上限'}{rate:.4f}‰",
        f"the {side_en} on last year's {previous:.4f} ‰ gave {renewal:.4f} ‰, overridden by "
        f"the band's {edge_en} (base {base:.4f} ‰ × {edge:g}): {rate:.4f} ‰",
    )
