"""What a command opens, when it runs (not when ``--help`` is asked): the settings, the
configured database migrated to the newest schema, and the champion model as a scorer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from service.engine.decisions import Scorer
    from service.store.settings import Settings


def get_settings() -> Settings:
    """The settings, read when a command runs."""
    from service.store.settings import get_settings as read

    return read()


def engine() -> Engine:
    """The configured database, migrated to the newest schema."""
    from service.store.db import migrated_engine

    settings = get_settings().database
    return migrated_engine(settings.url, echo=settings.echo)


def scorer() -> Scorer:
    """The model registered under the configured alias, with the policy and recourse actions;
    exits with status 2 if no model is registered."""
    from mlflow.exceptions import MlflowException

    from features.catalogue import CATALOGUE_VERSION
    from models.policy import load_policy
    from models.recourse import load_actions
    from models.tracking import load
    from service.engine.decisions import Scorer

    mlflow_settings = get_settings().mlflow
    name, alias = mlflow_settings.model_name, mlflow_settings.alias
    try:
        loaded = load(mlflow_settings.tracking_uri, name, alias)
    except MlflowException:
        typer.echo(f"no model registered as {name}@{alias}: run `safecredit train` first", err=True)
        raise typer.Exit(2) from None
    return Scorer(loaded, load_policy(), load_actions(), CATALOGUE_VERSION)
