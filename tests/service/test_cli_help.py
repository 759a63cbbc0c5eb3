"""The command line answers at once: ``safecredit --help`` and every command's ``--help`` import
neither pandas, LightGBM, SQLAlchemy nor MLflow (read from ``-X importtime`` of a real process;
the time is printed, never asserted); the choices are listed in the help and are the packages'
own; arguments are checked before any model or history is loaded."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from service.cli import choices as cli_choices
from service.cli.main import app

HEAVY = ("pandas", "lightgbm", "sqlalchemy", "mlflow", "numpy", "sklearn")
RUN = "import sys; from service.cli.main import main; sys.argv[0] = 'safecredit'; main()"


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group of commands
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def _imported(args: list[str]) -> tuple[set[str], float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", RUN, *args, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    return modules, took, done.stdout


def test_help_imports_nothing_heavy() -> None:
    modules, took, text = _imported([])
    print(f"safecredit --help: {took:.2f} s")
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert "registry" in text and "quote" in text


def test_every_command_help_imports_nothing_heavy() -> None:
    commands = _commands(typer.main.get_command(app))
    assert ("registry", "check") in commands and ("quote",) in commands
    # one process for all of them: each --help through the same import, none loading more
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
    for path in [("quote",), ("registry", "check"), ("score",), ("keys", "create")]:
        modules, took, _ = _imported(list(path))
        print(f"safecredit {' '.join(path)} --help: {took:.2f} s")
        assert not modules & set(HEAVY), (path, sorted(modules & set(HEAVY)))


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["registry", "check"], cli_choices.DOMAINS),
        (["quote"], cli_choices.HONOURS),
        (["score"], cli_choices.ENGINES),
        (["keys", "create"], cli_choices.ROLES),
    ],
)
def test_choices_are_listed_in_help(args: list[str], choices: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "400"})
    assert "|".join(choices) in result.output
    bad = CliRunner().invoke(app, [*args, "--" + _option(args), "nonsense"])
    assert bad.exit_code == 2 and "nonsense" in bad.output


def _option(args: list[str]) -> str:
    return {"check": "domain", "quote": "honours", "score": "engine", "create": "role"}[args[-1]]


def test_the_copies_are_the_packages_own() -> None:
    from features.extract import Encoding
    from features.files import FORMATS
    from features.uscc import CheckMode
    from models.tariff import HONOURS
    from registry.check import STATUSES
    from registry.policy import DOMAINS
    from service.engine.keys import ROLES

    assert cli_choices.DOMAINS == DOMAINS and cli_choices.STATUSES == STATUSES
    assert tuple(HONOURS) == cli_choices.HONOURS and cli_choices.FORMATS == FORMATS
    assert tuple(ROLES) == cli_choices.ROLES
    assert tuple(e.value for e in Encoding) == cli_choices.ENCODINGS
    assert tuple(m.value for m in CheckMode) == cli_choices.CHECK_MODES


def test_quote_refuses_a_low_amount_before_loading_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.cli import context

    def never() -> None:
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(context, "scorer", never)
    args = ["quote", "91350200MA31E12PXF", "--period-start", "2026-04-01"]
    low = CliRunner().invoke(app, [*args, "--insured-amount", "1000"])
    assert low.exit_code == 2, low.output
    assert "below the minimum" in low.output and "nothing was quoted" in low.output
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 2 and "insured_amount_cny" in missing.output
