"""The README's generated sections match the code they describe."""

from __future__ import annotations

from pathlib import Path

from features.catalogue import markdown_table
from features.docs import contracts_markdown, replace_block

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_shows_the_current_contracts() -> None:
    text = README.read_text()
    assert replace_block(text, "contracts", contracts_markdown()) == text, (
        "README is stale: run `uv run python -m features.docs README.md`"
    )


def test_the_readme_lists_the_current_feature_catalogue() -> None:
    text = README.read_text()
    assert replace_block(text, "features", markdown_table()) == text, (
        "README is stale: run `uv run python -m features.docs README.md`"
    )
