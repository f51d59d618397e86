"""Which values of a record a tag-scoped Confluent rule applies to (pure, no I/O).

A rule with ``tags`` applies to the ``string`` and ``bytes`` values of every field carrying one
of them: inline ``"confluent:tags"`` on the field, or ``metadata.tags`` keyed by ``<record full
name>.<field>`` (``*``, ``**`` and ``?`` wildcards, as confluent-kafka's ``wildcard_match``),
through nested records, arrays, maps and unions, as confluent-kafka's Avro field transform walks
them. :func:`tagged_plan` walks the schema once; :func:`apply_plan` applies a leaf function to a
record along the plan, copying what it changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from streams.avro import parse_schema
from streams.avro.fields import resolve

__all__ = ["apply_plan", "tagged_plan"]


def _wildcard(pattern: str) -> re.Pattern[str]:
    # Confluent's wildcard_match: '**' any characters, '*' any but '.', '?' one character.
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^.]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^.]", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(out + r"\Z")


def tagged_plan(schema_text: str, metadata: Mapping[str, Any] | None, tags: frozenset[str]) -> Any:
    """Which values a rule with ``tags`` transforms: a nested plan, or None for nothing."""
    parsed = parse_schema(schema_text)
    patterns = [
        (_wildcard(key), set(value))
        for key, value in (((metadata or {}).get("tags")) or {}).items()
    ]

    def field_tags(record: str, field: Mapping[str, Any]) -> set[str]:
        full = f"{record}.{field['name']}"
        found = set(field.get("confluent:tags") or ())
        for pattern, values in patterns:
            if pattern.match(full):
                found |= values
        return found

    def walk(node: Any, tagged: bool, path: tuple[str, ...]) -> Any:
        node = resolve(node, parsed)
        if isinstance(node, list):
            branches = [walk(branch, tagged, path) for branch in node]
            live = [b for b in branches if b is not None]
            return ("union", live) if live else None
        if isinstance(node, str):
            return ("leaf", node) if tagged and node in ("string", "bytes") else None
        kind = node.get("type")
        if kind in ("record", "error"):
            name = node["name"]
            if name in path:
                return None  # a recursive record: its inner levels are not walked
            steps = []
            for field in node["fields"]:
                sub = walk(field["type"], bool(tags & field_tags(name, field)), (*path, name))
                if sub is not None:
                    steps.append((field["name"], sub))
            return ("record", steps) if steps else None
        if kind == "array":
            sub = walk(node["items"], tagged, path)
            return ("array", sub) if sub is not None else None
        if kind == "map":
            sub = walk(node["values"], tagged, path)
            return ("map", sub) if sub is not None else None
        if kind in ("string", "bytes"):
            return ("leaf", kind) if tagged else None
        return None

    return walk(parsed.definition, False, ())


def apply_plan(plan: Any, value: Any, leaf: Callable[[str, Any], Any]) -> Any:
    if value is None:
        return None
    kind, sub = plan
    if kind == "leaf":
        return leaf(sub, value)
    if kind == "record":
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for name, step in sub:
            if name in out:
                out[name] = apply_plan(step, out[name], leaf)
        return out
    if kind == "array":
        return [apply_plan(sub, item, leaf) for item in value] if isinstance(value, list) else value
    if kind == "map":
        return (
            {k: apply_plan(sub, v, leaf) for k, v in value.items()}
            if isinstance(value, dict)
            else value
        )
    for branch in sub:  # a union: the first branch that fits the value
        branch_kind = branch[0]
        if branch_kind == "leaf" and (
            (branch[1] == "string" and isinstance(value, str))
            or (branch[1] == "bytes" and isinstance(value, bytes))
        ):
            return leaf(branch[1], value)
        if (branch_kind == "record" and isinstance(value, dict)) or (
            branch_kind == "array" and isinstance(value, list)
        ):
            return apply_plan(branch, value, leaf)
    return value
