"""Imports flow one way (STYLE.md): a module may import only its own layer or layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "streams"
# Lower index = lower layer. Modules of one layer may import each other.
LAYERS: list[set[str]] = [
    {"config", "errors", "naming", "identity"},
    {"avro"},
    {"serialization", "pii"},
    {"kafka", "registry"},
    {"catalog", "codegen", "governance", "guarantees", "access"},
    {"agents", "replay", "local", "web", "scaffold", "query"},
    {"cli"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "streams" and len(parts) > 1 else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every absolute module ``path`` imports; ``from streams import x`` counts as ``streams.x``.

    Relative imports are refused outright (they would hide a layer crossing from this test).
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: use an absolute import"
            if node.module == "streams":
                found += [(node.lineno, f"streams.{alias.name}") for alias in node.names]
            elif node.module:
                found.append((node.lineno, node.module))
    return found


def package_graph() -> dict[str, set[str]]:
    """Which top-level parts of ``streams`` import which others (self-imports left out)."""
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for _, module in imports_of(path):
            target = _part(module)
            if target is not None and target != own:
                graph.setdefault(own, set()).add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between packages, as a path that ends where it starts, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


MODULES = sorted(
    p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "__init__.py"
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_down(path: Path) -> None:
    relative = path.relative_to(PACKAGE)
    own = relative.parts[0].removesuffix(".py")
    if own not in RANK:
        pytest.fail(f"streams/{relative}: '{own}' is not a known layer; add it to LAYERS")
    for line, module in imports_of(path):
        target = _part(module)
        if target is None:
            continue
        assert target in RANK, f"streams/{relative}:{line} imports unknown layer {module}"
        assert RANK[target] <= RANK[own], (
            f"streams/{relative}:{line} imports {module}: '{own}' may not depend on '{target}'"
        )


def test_faust_stays_inside_agents() -> None:
    for path in MODULES:
        if path.relative_to(PACKAGE).parts[0] == "agents":
            continue
        for line, module in imports_of(path):
            assert module.split(".")[0] != "faust", f"{path}:{line} imports faust outside agents/"


def test_no_cycles_between_packages() -> None:
    cycle = find_cycle(package_graph())
    assert cycle is None, f"packages import each other in a cycle: {' -> '.join(cycle or [])}"


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from streams import cli\nimport streams.kafka.consumer\n")
    assert imports_of(module) == [(1, "streams.cli"), (2, "streams.kafka.consumer")]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None
