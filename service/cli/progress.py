"""Progress bars for the long commands (``score``, ``train``, ``registry evaluate``): tqdm, on
stderr, shown when stderr is a terminal unless ``--no-progress`` says otherwise (``--progress``
forces it); the results on stdout are never mixed with them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

Progress = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="progress bars on stderr (default: when stderr is a terminal)",
        show_default=False,
    ),
]


def shown(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def bar(progress: bool | None, *, total: int | None, unit: str, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not shown(progress), file=sys.stderr)


def steps(progress: bool | None, desc: str) -> tuple[Callable[[str], None], Any]:
    """A ``say`` for a long run reporting its steps: each message is echoed and moves a bar
    counting the steps (its latest message as the bar's text). Close the bar when done."""
    counter = bar(progress, total=None, unit="step", desc=desc)

    def say(message: str) -> None:
        if counter.disable:
            typer.echo(message)
            return
        counter.write(message, file=sys.stdout)
        counter.set_postfix_str(message[:60], refresh=False)
        counter.update()

    return say, counter
