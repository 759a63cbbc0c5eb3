"""The service's layers: ``http`` and ``cli`` over ``engine`` over ``store``, dependencies pointing
one way, and no import cycle between the service's modules. Every import counts, a lazy one inside
a function too (it is a dependency all the same, only a later one)."""

from __future__ import annotations

import ast
from pathlib import Path

import service

ROOT = Path(service.__file__).parent
LAYERS = ("store", "engine", "http", "cli")
# what each layer may import of the others (itself always)
ALLOWED = {
    "store": set(),
    "engine": {"store"},
    "http": {"engine", "store"},
    "cli": {"engine", "store"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if "versions" in parts:  # Alembic's migration scripts: loaded by Alembic, not imported
            continue
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> dict[str, int]:
    """The service modules ``name`` imports, each with the line of its first import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # ``from package import module`` imports the module; ``from module import name`` the
            # module (a package's ``__init__`` importing its modules is no cycle with them)
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                named.setdefault(target, node.lineno)
    return named


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_is_in_a_layer() -> None:
    assert sorted(n for n in MODULES if n != "service" and _layer(n) is None) == []


def test_dependencies_point_one_way() -> None:
    wrong = []
    for name, imported in GRAPH.items():
        mine = _layer(name)
        for target, line in imported.items():
            theirs = _layer(target)
            if mine and theirs and theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{MODULES[name].relative_to(ROOT.parent)}:{line} imports {target}")
            if name != "service" and target == "service":
                wrong.append(f"{MODULES[name].relative_to(ROOT.parent)}:{line} imports service")
    assert wrong == []


def _cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_rule_sees_a_lazy_import() -> None:
    """The parser counts an import inside a function (the command line's are all lazy)."""
    assert "service.engine.decisions" in GRAPH["service.cli.main"]
