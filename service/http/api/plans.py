"""``GET /v1/plans/inspections``: whom to inspect as of a day, for regulators only — the
enterprises ranked by expected accidents prevented, each with its actionable reasons as the
inspection's focus, and a share drawn at random by grade (双随机), marked as such.
``POST /v1/plans/prevention``: for insurers, a quoted book ranked by the expected loss the
recourse actions avoid, within the prevention budget (the plan policy's share of the premium)."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from models.plans import PlanError, PlanPolicy, load_plan_policy
from service.engine.errors import BadInput
from service.engine.keys import Principal
from service.engine.plans import plan_inspections, plan_prevention
from service.http.api.deps import ScorerDep, SessionDep, today_of
from service.http.api.inputs import Day
from service.http.api.responses import answer_in_thread, errors
from service.http.auth import allow

router = APIRouter(prefix="/v1/plans", tags=["plans"])
ERRORS = errors(e422="bad input: a day, the capacity, the share, or a region with no enterprise")
MAX_CAPACITY = 10_000  # per answer over HTTP; the command line plans more


class PlannedOut(BaseModel):
    rank: int = Field(description="place in the plan, from 1")
    uscc: str = Field(description="the enterprise's unified social credit code")
    region_code: str = Field(description="its 6-digit division code (GB/T 2260)")
    employees: int = Field(description="its recorded headcount (the exposure)")
    grade: Literal["A", "B", "C", "D"] = Field(description="its grade, overrides applied")
    score: int = Field(description="its published score")
    probability: float = Field(description="P(responsible accident within 12 months)")
    expected_accidents: float = Field(description="−ln(1 − probability)")
    prevented: float = Field(description="accidents an inspection is expected to prevent")
    picked: Literal["ranked", "random"] = Field(
        description="ranked by accidents prevented, or drawn at random by grade (双随机)"
    )
    why: str = Field(description="why it is in the plan")
    focus_en: str = Field(description="the inspection's focus: actions, then reasons")
    focus_zh: str = Field(description="the same in Chinese")


class InspectionPlanOut(BaseModel):
    as_of: str = Field(description="the day the plan is made as of")
    capacity: int = Field(description="inspections asked for")
    region: str | None = Field(description="the division code prefix, if any")
    random_share: float = Field(description="share of the plan drawn at random")
    seed: int = Field(description="the random draw's seed")
    candidates: int = Field(description="enterprises known on the day in the region")
    ranked: int = Field(description="enterprises in the plan by accidents prevented")
    random: int = Field(description="enterprises in the plan drawn at random")
    prevented: float = Field(description="accidents the plan is expected to prevent in total")
    versions: dict[str, str] = Field(
        description="model, scoring policy, recourse actions, catalogue and plan policy"
    )
    plan: list[PlannedOut] = Field(description="the enterprises to inspect, in order")


def get_plan_policy(request: Request) -> PlanPolicy:
    policy = getattr(request.app.state, "plan_policy", None)
    if policy is None:
        policy = request.app.state.plan_policy = load_plan_policy()
    return policy


@router.get("/inspections", response_model=InspectionPlanOut, responses=ERRORS)
async def inspection_plan(
    request: Request,
    session: SessionDep,
    scorer: ScorerDep,
    principal: Annotated[Principal, Depends(allow("regulator"))],
    capacity: Annotated[int, Query(ge=1, le=MAX_CAPACITY, description="inspections available")],
    as_of: Annotated[Day | None, Query(description="plan as of this day (today)")] = None,
    region: Annotated[
        str | None,
        Query(pattern=r"^\d{2}(\d{2}){0,2}$", description="division code prefix (GB/T 2260)"),
    ] = None,
    random_share: Annotated[
        float, Query(ge=0, le=1, description="share drawn at random, weighted by grade")
    ] = 0.0,
    seed: Annotated[int, Query(ge=0, lt=2**63, description="the draw's seed")] = 0,
) -> Response:
    """The inspection plan; the same inputs, versions and seed give the same plan."""
    policy = get_plan_policy(request)
    day = as_of or today_of(request)

    def answer() -> InspectionPlanOut:
        try:
            with session.begin():
                out = plan_inspections(
                    session,
                    scorer,
                    policy,
                    as_of=day,
                    capacity=capacity,
                    region=region,
                    random_share=random_share,
                    seed=seed,
                )
        except PlanError as exc:
            raise BadInput(str(exc)) from None
        return InspectionPlanOut.model_validate(out)

    return await answer_in_thread(answer)


class BookRowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uscc: str = Field(min_length=1, max_length=64, description="a USCC in the book")
    premium_cny: float = Field(ge=0, allow_inf_nan=False, description="its annual premium, CNY")


class PreventionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    book: list[BookRowIn] = Field(
        min_length=1, max_length=MAX_CAPACITY, description="the quoted book, one row per policy"
    )
    capacity: int = Field(ge=1, le=MAX_CAPACITY, description="prevention services available")
    as_of: Day | None = Field(None, description="scores as of this day (today)")


class PreventedOut(BaseModel):
    rank: int = Field(description="place in the plan, from 1")
    uscc: str = Field(description="the enterprise's unified social credit code")
    grade: Literal["A", "B", "C", "D"] = Field(description="its grade, overrides applied")
    premium_cny: float = Field(description="its premium in the book, CNY")
    probability: float = Field(description="P(responsible accident within 12 months)")
    loss_avoided_cny: float = Field(description="expected loss the actions avoid, CNY")
    actions_en: str = Field(description="the recourse actions the service would support")
    actions_zh: str = Field(description="the same in Chinese")


class PreventionPlanOut(BaseModel):
    as_of: str = Field(description="the day the scores are as of")
    capacity: int = Field(description="services asked for")
    summary: dict[str, float] = Field(
        description="book size, premium, budget, services affordable and planned, their cost, "
        "expected loss avoided and avoided per CNY of cost"
    )
    versions: dict[str, str] = Field(
        description="model, scoring policy, recourse actions, catalogue and plan policy"
    )
    plan: list[PreventedOut] = Field(description="the enterprises to serve, in order")


@router.post("/prevention", response_model=PreventionPlanOut, responses=ERRORS)
async def prevention_plan(
    request: Request,
    session: SessionDep,
    scorer: ScorerDep,
    principal: Annotated[Principal, Depends(allow("insurer"))],
    body: PreventionIn,
) -> Response:
    """The prevention plan of a quoted book; an unknown code or a bad row refuses the book."""
    policy = get_plan_policy(request)
    day = body.as_of or today_of(request)
    book = pd.DataFrame([row.model_dump() for row in body.book])

    def answer() -> PreventionPlanOut:
        try:
            with session.begin():
                out = plan_prevention(
                    session, scorer, policy, book=book, as_of=day, capacity=body.capacity
                )
        except PlanError as exc:
            raise BadInput(str(exc)) from None
        return PreventionPlanOut.model_validate(out)

    return await answer_in_thread(answer)
