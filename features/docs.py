"""Markdown generated from the contracts (and the catalogue), so the README never drifts."""

from __future__ import annotations

from features.contracts import INDUSTRIES, TABLES, VIOLATION_CATEGORIES, Kind


def contracts_markdown() -> str:
    out: list[str] = []
    for table in TABLES.values():
        need = "required" if table.required else "optional"
        out.append(f"**`{table.name}`** ({need}) — {table.doc} Key: `{table.key}`.\n")
        out.append("| column | type | empty allowed | meaning |")
        out.append("|---|---|---|---|")
        for col in table.columns:
            kind = col.kind.value
            if col.kind is Kind.ENUM and len(col.values) <= 6:
                kind = " \\| ".join(col.values)
            elif col.kind is Kind.ENUM:
                kind = "one of the catalogue"
            if col.low is not None and col.high is not None:
                kind += f" ({col.low:g}–{col.high:g})"
            elif col.high is not None:
                kind += f" (≤ {col.high:,.0f})"
            optional = "" if col.required else " (optional column)"
            empty = "yes" if col.nullable else "no"
            out.append(f"| `{col.name}`{optional} | {kind} | {empty} | {col.doc} |")
        out.append("")
    names = ", ".join(
        f"`{k}` {zh}{' (compulsory insurance)' if c else ''}" for k, (zh, c) in INDUSTRIES.items()
    )
    out.append(f"Industries: {names}.\n")
    categories = ", ".join(f"`{k}` {zh}" for k, zh in VIOLATION_CATEGORIES.items())
    out.append(f"Violation categories: {categories}.")
    return "\n".join(out) + "\n"


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the part between ``<!-- name:start -->`` and ``<!-- name:end -->`` replaced."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from features.catalogue import markdown_table

    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    text = replace_block(readme.read_text(), "contracts", contracts_markdown())
    readme.write_text(replace_block(text, "features", markdown_table()))
