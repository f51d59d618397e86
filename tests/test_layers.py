"""Imports flow one way (STYLE.md): a module may import only its own layer or layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "streams"
# Lower index = lower layer. Modules of one layer may import each other.
LAYERS: list[set[str]] = [
    {"config", "errors", "naming"},
    {"avro"},
    {"serialization"},
    {"kafka", "registry"},
    {"catalog", "codegen", "governance", "guarantees"},
    {"agents", "replay", "local", "web"},
    {"cli"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "streams" and len(parts) > 1 else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


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
