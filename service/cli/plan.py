"""``safecredit plan inspections`` (regulators: whom to inspect) and ``safecredit plan
prevention`` (insurers: whom to offer prevention services, priced against the premium).

Registered in :mod:`service.cli.main` with ``app.add_typer(plan_app, name="plan")``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Where to act: inspection and prevention plans.", no_args_is_help=True)
REFUSED = 2


def _policy(path: Path | None) -> Any:
    from models.plans import load_plan_policy
    from models.policy import PolicyFileError

    try:
        return load_plan_policy(path) if path else load_plan_policy()
    except (PolicyFileError, OSError) as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(REFUSED) from None


def _write(answer: dict[str, Any], out: Path | None) -> None:
    if out is None:
        return
    if out.suffix == ".csv":
        import pandas as pd

        pd.DataFrame(answer["plan"]).to_csv(out, index=False)
        out.with_suffix(".json").write_text(json.dumps(answer, ensure_ascii=False, indent=1))
        typer.echo(f"wrote {out} and {out.with_suffix('.json')}")
    else:
        out.write_text(json.dumps(answer, ensure_ascii=False, indent=1) + "\n")
        typer.echo(f"wrote {out}")


@app.command()
def inspections(
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="plan as of this day")],
    capacity: Annotated[int, typer.Option(min=1, help="inspections available")],
    region: Annotated[
        str | None, typer.Option(help="division code prefix: 2, 4 or 6 digits (GB/T 2260)")
    ] = None,
    random_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share drawn at random, weighted by grade")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="seed of the random draw: same seed, same plan")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="write the plan: .json, or .csv (+ .json)")
    ] = None,
    policy_file: Annotated[Path | None, typer.Option("--policy", help="plan policy TOML")] = None,
) -> None:
    """Whom to inspect: N enterprises ranked by expected accidents prevented, each with its
    actionable reasons as the inspection's focus, a share drawn at random (双随机) and marked."""
    from sqlalchemy.orm import Session

    from models.plans import PlanError
    from service.cli.context import engine
    from service.cli.context import scorer as champion_scorer
    from service.engine.plans import plan_inspections

    policy = _policy(policy_file)
    scorer = champion_scorer()
    try:
        with Session(engine()) as session, session.begin():
            answer = plan_inspections(
                session,
                scorer,
                policy,
                as_of=as_of.date(),
                capacity=capacity,
                region=region,
                random_share=random_share,
                seed=seed,
            )
    except PlanError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(REFUSED) from None
    typer.echo(
        f"{len(answer['plan'])} inspections of {answer['candidates']:,} enterprises as of "
        f"{answer['as_of']}: {answer['ranked']} ranked, {answer['random']} at random; "
        f"{answer['prevented']:.2f} accidents expected to be prevented"
    )
    for r in answer["plan"][:20]:
        typer.echo(
            f"{r['rank']:>4} {r['uscc']} {r['grade']} {r['picked']:<6} "
            f"prevented {r['prevented']:.4f}  {r['focus_en'][:70]}"
        )
    if len(answer["plan"]) > 20:
        typer.echo(f"… {len(answer['plan']) - 20} more (--out for all)")
    _write(answer, out)


@app.command()
def prevention(
    book: Annotated[Path, typer.Option(help="a quoted book (CSV with uscc and premium_cny)")],
    capacity: Annotated[int, typer.Option(min=1, help="prevention services available")],
    as_of: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="scores as of (today)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write the plan: .json, or .csv (+ .json)")
    ] = None,
    policy_file: Annotated[Path | None, typer.Option("--policy", help="plan policy TOML")] = None,
) -> None:
    """Whom to offer prevention services: a book ranked by the expected loss the recourse
    actions avoid, within the prevention budget (the policy's share of the premium)."""
    import pandas as pd
    from sqlalchemy.orm import Session

    from models.plans import PlanError
    from service.cli.context import engine
    from service.cli.context import scorer as champion_scorer
    from service.cli.registry import today as registry_today
    from service.engine.plans import plan_prevention

    policy = _policy(policy_file)
    try:
        table = pd.read_csv(book, dtype={"uscc": str})
    except (OSError, ValueError) as exc:
        typer.echo(f"refused: {book}: {exc}", err=True)
        raise typer.Exit(REFUSED) from None
    scorer = champion_scorer()
    day = as_of.date() if as_of else registry_today()  # the registry's day, in its zone
    try:
        with Session(engine()) as session, session.begin():
            answer = plan_prevention(
                session, scorer, policy, book=table, as_of=day, capacity=capacity
            )
    except PlanError as exc:
        typer.echo(f"refused: {book}: {exc}", err=True)
        raise typer.Exit(REFUSED) from None
    s = answer["summary"]
    typer.echo(
        f"book of {s['enterprises_in_book']:,.0f} enterprises, premium {s['premium_cny']:,.0f} "
        f"CNY: budget {s['budget_cny']:,.0f} CNY ({policy.prevention.budget_share:.0%}) pays "
        f"{s['services_affordable']:,.0f} services; planned {s['services_planned']:,.0f} costing "
        f"{s['cost_cny']:,.0f} CNY, expected loss avoided {s['loss_avoided_cny']:,.0f} CNY "
        f"({s['avoided_per_cny']:.2f} per CNY)"
    )
    for r in answer["plan"][:20]:
        typer.echo(
            f"{r['rank']:>4} {r['uscc']} {r['grade']} avoided {r['loss_avoided_cny']:>10,.0f} "
            f"{r['actions_en'][:60]}"
        )
    _write(answer, out)
