"""The monthly simulation: culture drift, hazards arising, found and rectified, inspections,
accidents and sanctions, vectorised over enterprises (the loop is over months)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from experiments.world import accidents, sanctions
from experiments.world.dates import NEVER
from experiments.world.firms import Firms
from experiments.world.log import Log
from experiments.world.params import Params
from experiments.world.sanctions import Sanctions, sigmoid, uniform_days

DAYS_PER_YEAR = 365.25


@dataclass
class Outcome:
    """Every simulated record (internal ids) and the per-year truth arrays (years × firms)."""

    inspections: dict[str, np.ndarray]
    violations: dict[str, np.ndarray]
    penalties: dict[str, np.ndarray]
    accidents: dict[str, np.ndarray]
    hazards: dict[str, np.ndarray]
    expected: np.ndarray  # Σ monthly intensity of responsible accidents over the year
    responsible: np.ndarray  # responsible accidents that occurred (reported or not)
    culture: np.ndarray  # latent culture at the year start (higher is safer)
    operating: np.ndarray  # operating at the year start


@dataclass(frozen=True)
class InspectionEffect:
    """Targeted inspections, off unless given (a world without one is unchanged, draw for
    draw). At each recording year's start, ``planner(year, province)`` names the enterprises
    (internal ids) inspected that month. Each hidden hazard of theirs is found with chance
    ``found`` and rectified at once; with ``rectify_open`` every open hazard is rectified too
    (and no major one is overdue any more); the culture improves by ``culture_jolt``. The
    effect's draws come from a generator of its own (``seed``), and the visits are recorded as
    inspections."""

    planner: Callable[[int, Province], np.ndarray]
    found: float = 0.7
    rectify_open: bool = True
    culture_jolt: float = 0.0
    seed: int = 0


class Province:
    """State of every enterprise; :meth:`step` advances one month."""

    def __init__(
        self,
        rng: np.random.Generator,
        params: Params,
        firms: Firms,
        bounds: np.ndarray,
        burn: int,
        effect: InspectionEffect | None = None,
    ) -> None:
        self.rng, self.p, self.firms, self.bounds, self.burn = rng, params, firms, bounds, burn
        self.effect = effect
        self.effect_rng = np.random.default_rng(effect.seed) if effect else None
        n, steps = len(firms), len(bounds) - 1
        years = (steps - burn) // 12
        self.n = n
        by, ind, size = params.by_industry, firms.industry, firms.size
        a, h, i = params["accidents"], params["hazards"], params["inspections"]
        self.accident_base = by["accident_rate"][ind] * size ** a["size_elasticity"]
        self.other_base = by["accident_rate"][ind] * a["non_responsible_share"]
        grade_factor = np.concatenate([[1.0], i["grade"]])[firms.grade]
        self.inspection_base = by["inspections"][ind] * size ** i["size_elasticity"] * grade_factor
        self.hazard_base = by["hazards"][ind] * size ** h["size_elasticity"]
        self.major_base = by["major_hazards"][ind] * size ** h["size_elasticity"]

        c = params["culture"]
        self.drift = c["drift_sd"] * rng.standard_normal(n)
        self.operating = np.ones(n, dtype=bool)
        self.inspection_factor = np.ones(n)
        self.hidden = np.zeros((2, n), dtype=np.int64)  # general, major hazards not yet found
        self.open = np.zeros((2, n), dtype=np.int64)  # found, not yet rectified
        self.overdue = np.zeros(n, dtype=np.int64)  # major hazards past their deadline
        # per step: hazards rectified (general, major), major hazards falling due, overdue closed
        self.schedule = np.zeros((4, steps + 2, n), dtype=np.int32)
        self.accidents_known = np.zeros(n, dtype=np.int64)  # this year, responsible, reported
        self.serious_found = np.zeros(n, dtype=np.int64)  # this year
        self.year_end = bounds[burn]
        # open hazards an inspection rectified before their scheduled day: that day's
        # rectification is absorbed here instead of closing a hazard twice
        self.credit = np.zeros((2, n), dtype=np.int64)
        self.targeted = Log(ent=np.int64, day=np.int64)  # the effect's inspections

        self.sanctions = Sanctions(params, firms)
        self.inspections = Log(ent=np.int64, day=np.int64)
        self.violations = sanctions.violation_log()
        self.accidents = accidents.accident_log()
        self.hazards = Log(
            ent=np.int64,
            found=np.int64,
            major=bool,
            due=np.int64,
            rectified=np.int64,
            self_found=bool,
        )
        self.expected = np.zeros((years, n))
        self.responsible = np.zeros((years, n), dtype=np.int64)
        self.culture = np.zeros((years, n))
        self.operating_at = np.zeros((years, n), dtype=bool)

    @property
    def risk(self) -> np.ndarray:
        """Negative culture: what raises rates."""
        return -(self.firms.culture + self.drift)

    def run(self, progress: bool = False) -> Outcome:
        for k in tqdm(
            range(len(self.bounds) - 1), desc="simulating", unit="month", disable=not progress
        ):
            self.step(k)
        return self.outcome()

    def outcome(self) -> Outcome:
        """Every record so far and the truth arrays (later years still zero)."""
        return Outcome(
            inspections=self.inspections.columns(),
            violations=self.violations.columns(),
            penalties=self.sanctions.log.columns(),
            accidents=self.accidents.columns(),
            hazards=self.hazards.columns(),
            expected=self.expected,
            responsible=self.responsible,
            culture=self.culture,
            operating=self.operating_at,
        )

    def step(self, k: int) -> None:
        rng, n = self.rng, self.n
        start, stop = int(self.bounds[k]), int(self.bounds[k + 1])
        length = stop - start
        share = length / DAYS_PER_YEAR
        rectified, due, closed = self.schedule[:2, k], self.schedule[2, k], self.schedule[3, k]
        if self.effect is not None:
            absorbed = np.minimum(rectified, self.credit)
            self.credit -= absorbed
            rectified = rectified - absorbed
        self.open -= rectified
        self.overdue += due.astype(np.int64) - closed
        if self.effect is not None:
            np.maximum(self.overdue, 0, out=self.overdue)
        recording = k >= self.burn
        if recording and (k - self.burn) % 12 == 0:
            self._new_year((k - self.burn) // 12, start)
            if self.effect is not None:
                self._inspect_targets((k - self.burn) // 12, start)
        risk = self.risk
        live = self.operating

        if recording:
            year = (k - self.burn) // 12
            rate = self._accident_rate(risk) * share * live
            self.expected[year] += rate
            self._accidents(year, rate, self.other_base * share * live, risk, start, length)

        visits = rng.poisson(self.inspection_base * self.inspection_factor * share) * live
        ent = np.repeat(np.arange(n), visits)
        day = start + rng.integers(0, length, len(ent))
        found = self._found_at_inspections(visits, day)
        if recording:
            ids = self.inspections.add(ent=ent, day=day)
            serious = sanctions.inspect(
                rng,
                self.p,
                self.sanctions,
                self.violations,
                ids,
                ent,
                day,
                risk[ent],
                self.overdue[ent],
            )
            self.serious_found += np.bincount(ent, weights=serious, minlength=n).astype(np.int64)
        found.extend(self._self_found(risk, start, length))
        for ents, days, major, by_self in found:
            self._register(ents, days, major, risk[ents], by_self)

        h = self.p["hazards"]
        self.hidden[0] += rng.poisson(self.hazard_base * np.exp(h["risk"] * risk) * share * live)
        self.hidden[1] += rng.poisson(
            self.major_base * np.exp(h["major_risk"] * risk) * share * live
        )
        c = self.p["culture"]
        rho = c["monthly_persistence"]
        self.drift = rho * self.drift + c["drift_sd"] * np.sqrt(1 - rho**2) * rng.standard_normal(n)

    def _inspect_targets(self, year: int, day: int) -> None:
        """The effect's inspections of the year: found hazards rectified, culture improved."""
        assert self.effect is not None and self.effect_rng is not None
        e = self.effect
        ents = np.unique(np.asarray(e.planner(year, self), dtype=np.int64))
        ents = ents[self.operating[ents]]
        if not len(ents):
            return
        found = self.effect_rng.binomial(self.hidden[:, ents], e.found)
        self.hidden[:, ents] -= found
        if e.rectify_open:
            self.credit[:, ents] += self.open[:, ents]
            self.open[:, ents] = 0
            self.overdue[ents] = 0
        self.drift[ents] += e.culture_jolt
        self.targeted.add(ent=ents, day=np.full(len(ents), day, dtype=np.int64))
        self.inspections.add(ent=ents, day=np.full(len(ents), day, dtype=np.int64))

    def _accident_rate(self, risk: np.ndarray) -> np.ndarray:
        """Responsible accidents per year given the state at the start of the month."""
        a = self.p["accidents"]
        danger = self.hidden + self.open
        return self.accident_base * np.exp(
            a["risk"] * risk
            + a["major_hazard"] * np.minimum(danger[1], a["major_hazard_cap"])
            + a["general_hazard"] * np.minimum(danger[0], a["general_hazard_cap"])
        )

    def _accidents(
        self,
        year: int,
        rate: np.ndarray,
        other: np.ndarray,
        risk: np.ndarray,
        start: int,
        length: int,
    ) -> None:
        rng = self.rng
        count = rng.poisson(rate)
        self.responsible[year] += count
        ent = np.concatenate(
            [np.repeat(np.arange(self.n), count), np.repeat(np.arange(self.n), rng.poisson(other))]
        )
        responsible = np.arange(len(ent)) < count.sum()
        reported = accidents.occur(
            rng,
            self.p,
            self.sanctions,
            self.accidents,
            self.violations,
            ent,
            start + rng.integers(0, length, len(ent)),
            responsible,
            np.where(responsible, risk[ent], 0.0),
        )
        known = responsible & (reported < self.year_end)
        self.accidents_known += np.bincount(ent[known], minlength=self.n)

    def _new_year(self, year: int, start: int) -> None:
        i = self.p["inspections"]
        record = i["overdue_major"] * (self.overdue > 0)
        if year > 0:
            self.operating &= ~(self.sanctions.barred_from < start)
            self.drift += self.p["culture"]["accident_jolt"] * (self.accidents_known > 0)
            record = record + (
                i["accident"] * (self.accidents_known > 0)
                + i["serious_violation"] * np.minimum(self.serious_found, 4)
            )
        self.inspection_factor = np.exp(record)
        self.accidents_known[:] = 0
        self.serious_found[:] = 0
        self.year_end = self.bounds[self.burn + 12 * (year + 1)]
        self.culture[year] = self.firms.culture + self.drift
        self.operating_at[year] = self.operating

    def _found_at_inspections(
        self, visits: np.ndarray, day: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray, bool, bool]]:
        """Hidden hazards found by this month's inspections, dated at the first one."""
        seen = np.flatnonzero(visits)
        if not len(seen):
            return []
        first = np.minimum.reduceat(day, np.concatenate([[0], np.cumsum(visits[seen])[:-1]]))
        chance = 1 - (1 - self.p["hazards"]["found_at_inspection"]) ** visits[seen]
        out = []
        for level in (0, 1):
            count = self.rng.binomial(self.hidden[level, seen], chance)
            self.hidden[level, seen] -= count
            out.append((np.repeat(seen, count), np.repeat(first, count), bool(level), False))
        return out

    def _self_found(
        self, risk: np.ndarray, start: int, length: int
    ) -> list[tuple[np.ndarray, np.ndarray, bool, bool]]:
        """Hidden hazards the enterprise finds and reports itself, dated within the month."""
        h = self.p["hazards"]
        chance = sigmoid(h["self_found"][0] + h["self_found"][1] * risk)
        out = []
        for level, factor in ((0, 1.0), (1, h["self_found_major"])):
            count = self.rng.binomial(self.hidden[level], chance * factor)
            self.hidden[level] -= count
            ent = np.repeat(np.arange(self.n), count)
            out.append((ent, start + self.rng.integers(0, length, len(ent)), bool(level), True))
        return out

    def _register(
        self, ent: np.ndarray, found: np.ndarray, major: bool, risk: np.ndarray, by_self: bool
    ) -> None:
        """Found hazards get a deadline and a rectification day (perhaps never)."""
        if not len(ent):
            return
        h, rng, n = self.p["hazards"], self.rng, self.n
        m = len(ent)
        allowed = uniform_days(rng, h["major_due_days" if major else "general_due_days"], m)
        a, b, sd = h["rectify_log_ratio"]
        taken = np.round(allowed * np.exp(a + b * risk + sd * rng.standard_normal(m)))
        abandon = sigmoid(h["abandon"][0] + h["abandon"][1] * risk + h["abandon_major"] * major)
        rectified = np.where(rng.random(m) < abandon, NEVER, found + taken.astype(np.int64))
        due = found + allowed
        self.hazards.add(
            ent=ent, found=found, major=major, due=due, rectified=rectified, self_found=by_self
        )
        level = int(major)
        # a hazard counts as open at the start of every month that begins on or before its repair
        fixed_at = np.searchsorted(self.bounds, rectified, side="right")
        np.add.at(self.schedule[level], (fixed_at, ent), 1)
        self.open[level] += np.bincount(ent, minlength=n)
        if major:
            due_at = np.searchsorted(self.bounds, due, side="right")
            late = due_at < fixed_at
            np.add.at(self.schedule[2], (due_at[late], ent[late]), 1)
            np.add.at(self.schedule[3], (fixed_at[late], ent[late]), 1)
