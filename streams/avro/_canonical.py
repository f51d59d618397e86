"""Render a parsed schema as Confluent's canonical text (Avro Java's ``Schema.toString()``).

The parser already stores every object with its keys in Avro Java's output order and every named
type fully qualified, so rendering only has to shorten names relative to the enclosing namespace
the way Java does, and print compact JSON with non-ASCII characters kept as they are.
"""

from __future__ import annotations

import json
from typing import Any

from streams.avro._names import PRIMITIVES, relative_name, split_name

__all__ = ["canonical_text"]


def canonical_text(definition: Any) -> str:
    """The canonical text of a parsed definition (see :func:`streams.avro.schema.parse_schema`).

    Args:
        definition: The parsed main schema.
    """
    rendered = _render(definition, None)
    return json.dumps(rendered, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _render(node: Any, space: str | None) -> Any:
    if isinstance(node, str):
        return node if node in PRIMITIVES else relative_name(node, space)
    if isinstance(node, list):
        return [_render(branch, space) for branch in node]
    if "name" not in node:  # primitive with attributes, array or map
        return {
            key: _render(value, space) if key in ("items", "values") else value
            for key, value in node.items()
        }
    own, simple = split_name(node["name"])
    out: dict[str, Any] = {"type": node["type"], "name": simple}
    if own is not None and own != space:
        out["namespace"] = own
    elif own is None and space is not None:
        # Java writes an explicit empty namespace so the null namespace survives a re-parse.
        out["namespace"] = ""
    for key, value in node.items():
        if key in ("type", "name"):
            continue
        if key == "fields":
            out[key] = [_render_field(field, own) for field in value]
        elif key == "aliases":
            out[key] = [relative_name(alias, own) for alias in value]
        else:
            out[key] = value
    return out


def _render_field(field: dict[str, Any], space: str | None) -> dict[str, Any]:
    return {key: _render(value, space) if key == "type" else value for key, value in field.items()}
