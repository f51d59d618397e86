"""Avro names: validation, qualification and the relative spelling Avro Java writes."""

from __future__ import annotations

import re

__all__ = [
    "COMPLEX_TYPES",
    "MAX_NAME_LENGTH",
    "PRIMITIVES",
    "name_candidates",
    "name_problem",
    "namespace_problem",
    "qualify",
    "relative_name",
    "split_name",
]

# Avro sets no limit; names longer than this are mistakes (or attacks), never real schemas.
MAX_NAME_LENGTH = 1024
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
COMPLEX_TYPES = frozenset({"record", "error", "enum", "array", "map", "fixed"})
# Avro Java's ``Schema.Type`` names: a named type whose simple name is one of these is always
# written fully qualified, or it would read back as the built-in type.
_TYPE_NAMES = PRIMITIVES | {"record", "enum", "array", "map", "union", "fixed"}
_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RULE = "each part must start with a letter or '_' and contain only letters, digits and '_'"


def name_problem(name: str, *, dotted: bool = True) -> str | None:
    """Why ``name`` is not a valid Avro name (``None`` when it is).

    Args:
        name: A simple or (when ``dotted``) dot-separated full name.
        dotted: Whether dots are allowed (type names) or not (field names, enum symbols).
    """
    if len(name) > MAX_NAME_LENGTH:
        return f"a name of {len(name)} characters is too long; use at most {MAX_NAME_LENGTH}"
    parts = name.split(".") if dotted else [name]
    if all(_PART.match(part) for part in parts):
        return None
    if not dotted and "." in name:
        return f"invalid name {name!r}: dots are not allowed here"
    return f"invalid name {name!r}: {_RULE}"


def namespace_problem(namespace: str) -> str | None:
    """Why ``namespace`` is not a valid Avro namespace (``None`` when it is; ``""`` is valid)."""
    if len(namespace) > MAX_NAME_LENGTH:
        return (
            f"a namespace of {len(namespace)} characters is too long; use at most {MAX_NAME_LENGTH}"
        )
    if namespace == "" or all(_PART.match(part) for part in namespace.split(".")):
        return None
    return f"invalid namespace {namespace!r}: {_RULE} (e.g. 'com.example.orders')"


def split_name(full: str) -> tuple[str | None, str]:
    """Split a full name into its namespace (``None`` for the null namespace) and simple name."""
    space, _, simple = full.rpartition(".")
    return (space or None), simple


def qualify(name: str, space: str | None) -> str:
    """The full name of ``name`` written inside ``space``: a dotted name is already full."""
    if "." in name or not space:
        return name
    return f"{space}.{name}"


def name_candidates(name: str, space: str | None) -> list[str]:
    """Full names a type reference may mean, in Avro's lookup order (own namespace, then null)."""
    if "." in name or not space:
        return [name]
    return [f"{space}.{name}", name]


def relative_name(full: str, space: str | None) -> str:
    """How Avro Java spells a reference to ``full`` inside ``space`` (``Name.getQualified``)."""
    own, simple = split_name(full)
    if own is not None and own == space and simple not in _TYPE_NAMES:
        return simple
    return full
