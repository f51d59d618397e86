"""Which records can hold a value at all (pure).

``{"type": "record", "name": "R", "fields": [{"name": "a", "type": "R"}]}`` is valid JSON
and Avro Java parses it, but no finite value fits it: every ``R`` needs another ``R`` inside.
A type has a finite value when it is a primitive, enum, fixed, array or map (which may be
empty), a union with such a branch, or a record all of whose fields have one. The records with
one are found as a least fixed point, so mutual recursion is handled too.

The parser does not refuse such a schema: Avro Java parses it (its own compatibility tests use
one, see ``avro-java-005`` in ``tests/registry/vectors``) and Confluent's registry registers it,
so refusing it would break compatibility checks and imports of existing subjects. The encoder
refuses to be built for one instead (no producer could ever write a value of it), naming the
record, the field and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["blocking_field", "infinite_problem", "unsatisfiable"]


def _finite(node: Any, named: Mapping[str, Any], ok: set[str]) -> bool:
    if isinstance(node, str):
        target = named.get(node)
        if target is None:
            return True  # a primitive
        return _finite(target, named, ok)
    if isinstance(node, list):
        return any(_finite(branch, named, ok) for branch in node)
    if node.get("type") in ("record", "error"):
        return bool(node["name"] in ok)
    return True  # primitives with attributes, enum, fixed, array, map


def unsatisfiable(named: Mapping[str, Any], names: list[str]) -> list[str]:
    """The records among ``names`` that no finite value fits, in ``names`` order."""
    records = {
        name: node
        for name, node in named.items()
        if isinstance(node, Mapping) and node.get("type") in ("record", "error")
    }
    ok: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, node in records.items():
            if name not in ok and all(_finite(f["type"], named, ok) for f in node["fields"]):
                ok.add(name)
                changed = True
    return [name for name in names if name in records and name not in ok]


def blocking_field(record: Mapping[str, Any], named: Mapping[str, Any], bad: set[str]) -> int:
    """The index of the first field of ``record`` that has no finite value."""
    ok = {name for name in named if name not in bad}
    for index, field in enumerate(record["fields"]):
        if not _finite(field["type"], named, ok):
            return index
    return 0


def infinite_problem(definition: Any, named: Mapping[str, Any]) -> str | None:
    """Why no finite value fits ``definition`` (naming the record, field and fix), or None."""
    if _finite(definition, named, set(named) - set(unsatisfiable(named, list(named)))):
        return None
    bad = unsatisfiable(named, list(named))
    root = definition.get("name") if isinstance(definition, Mapping) else definition
    name = root if root in bad else bad[0]
    record = named[name]
    field = record["fields"][blocking_field(record, named, set(bad))]["name"]
    return (
        f"record {name!r} can never hold a value: its field {field!r} always needs another "
        f"{name!r} (or a record that needs one) inside it, without end; make the field "
        'optional in the schema ("type": ["null", ...], "default": null) or an array or map, '
        "and register it as a new version"
    )
