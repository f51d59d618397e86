"""An ODCS schema object's properties as Avro fields and the descriptor's quality rules.

Part of :func:`streams.catalog.import_odcs`, for contracts that carry no exact Avro schema
(the ``avroSchema`` custom property our export writes): each property becomes a field, its type
from ``logicalType`` (refined by ``physicalType`` and ``logicalTypeOptions.format``), nullable
unless ``required: true``, its doc from ``description``. Library quality checks become rules:
``nullValues`` -> ``not_null``, ``duplicateValues`` (or ``unique: true``) -> ``unique``,
``invalidValues`` with ``validValues`` -> ``allowed_values``, numeric bounds -> ``range``. What
has no counterpart on the mesh is left out with a note naming its JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.avro import PROTECTIONS

__all__ = ["Fields", "pascal_case", "personal_protection", "read_fields", "snake_case"]

_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SMALL_INTS = {"i8", "i16", "i32", "u8", "u16"}
_INT_NAMES = {"int", "integer", "int32", "smallint", "tinyint", "int4", "int2"}
_FLOAT_NAMES = {"float", "real", "float4", "float32"}


@dataclass
class Fields:
    """What :func:`read_fields` found.

    Attributes:
        fields: The Avro fields, in the properties' order.
        rules: Quality rules in descriptor form (``{"rule": ..., "field": ...}``).
        notes: Rules left out, each ``<json path>: <what>``.
        type_notes: Types read approximately or names changed (moot with an exact schema).
        personal: Whether a field is marked personal.
    """

    fields: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    type_notes: list[str] = field(default_factory=list)
    personal: bool = False


def snake_case(text: str) -> str:
    """``Seller Payments-v1`` -> ``seller_payments_v1`` (lower, words joined by ``_``)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text.strip())
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


def pascal_case(text: str) -> str:
    """``tbl_orders`` -> ``TblOrders`` (a record name: letters and digits, upper first)."""
    words = [word for word in snake_case(text).split("_") if word]
    joined = "".join(word[:1].upper() + word[1:] for word in words)
    return joined if joined[:1].isalpha() else f"R{joined}"


def personal_protection(name: str, mark: object) -> str:
    """The ``pii`` protection of a field marked personal: the mark when it names one, else
    pseudonymized for an id (it still joins), encrypted for anything else."""
    if mark in PROTECTIONS:
        return str(mark)
    return "pseudonymize" if name.endswith("_id") else "encrypt"


def read_fields(properties: Sequence[Mapping[str, Any]], base: str, record: str) -> Fields:
    """Fields and rules of ``properties`` (the JSON path ``base``) in record ``record``."""
    found = Fields()
    _read(properties, base, record, "", found)
    return found


def _read(
    properties: Sequence[Mapping[str, Any]], base: str, record: str, prefix: str, found: Fields
) -> None:
    for index, prop in enumerate(properties):
        where = f"{base}[{index}]"
        name = str(prop["name"])
        if not _AVRO_NAME.match(name):
            renamed = snake_case(name) or f"field_{index}"
            found.type_notes.append(f"{where}.name: {name!r} renamed {renamed!r} (an Avro name)")
            name = renamed
        avro_type = _type(prop, where, f"{record}{pascal_case(name)}", f"{prefix}{name}", found)
        entry: dict[str, Any] = {"name": name}
        entry["type"] = avro_type if prop.get("required") is True else ["null", avro_type]
        if prop.get("required") is not True:
            entry["default"] = None
        entry["doc"] = str(prop.get("description") or f"TODO: describe {name}.")
        mark = _personal_mark(prop)
        if mark is not None:
            entry["pii"] = personal_protection(name, mark)
            found.personal = True
        found.fields.append(entry)
        _rules(prop, where, f"{prefix}{name}", found)


def _personal_mark(prop: Mapping[str, Any]) -> object:
    """The property's ``pii`` custom property, ``True`` for a ``pii`` tag or classification."""
    for item in prop.get("customProperties") or ():
        if item.get("property") == "pii" and item.get("value") not in (False, None):
            return item["value"]
    tags = {str(tag).lower() for tag in prop.get("tags") or ()}
    if "pii" in tags or str(prop.get("classification", "")).lower() == "pii":
        return True
    return None


def _type(prop: Mapping[str, Any], where: str, nested: str, path: str, found: Fields) -> Any:
    logical = prop.get("logicalType")
    physical = str(prop.get("physicalType", "")).strip().lower()
    options = prop.get("logicalTypeOptions") or {}
    if prop.get("properties") or logical == "object":
        children = prop.get("properties") or []
        if not children:
            found.type_notes.append(
                f"{where}: an object without properties became a map of strings"
            )
            return {"type": "map", "values": "string"}
        sub = Fields()
        _read(children, f"{where}.properties", nested, f"{path}.", sub)
        found.rules += sub.rules
        found.notes += sub.notes
        found.type_notes += sub.type_notes
        found.personal = found.personal or sub.personal
        return {"type": "record", "name": nested, "fields": sub.fields}
    if logical == "array":
        items = prop.get("items")
        if not isinstance(items, Mapping):
            found.type_notes.append(f"{where}: an array without 'items' became an array of strings")
            return {"type": "array", "items": "string"}
        return {"type": "array", "items": _type(items, f"{where}.items", nested, path, found)}
    if logical == "integer":
        small = options.get("format") in _SMALL_INTS or physical in _INT_NAMES
        return "int" if small else "long"
    if logical == "number":
        if physical.startswith(("decimal", "numeric")):
            found.type_notes.append(f"{where}.physicalType: {physical!r} is read as a double")
        return "float" if options.get("format") == "f32" or physical in _FLOAT_NAMES else "double"
    if logical == "boolean":
        return "boolean"
    if logical == "date":
        return {"type": "int", "logicalType": "date"}
    if logical == "time":
        return {"type": "int", "logicalType": "time-millis"}
    if logical == "timestamp":
        precision = "micros" if "micro" in physical else "millis"
        return {"type": "long", "logicalType": f"timestamp-{precision}"}
    if "uuid" in physical:
        return {"type": "string", "logicalType": "uuid"}
    return "string"


def _rules(prop: Mapping[str, Any], where: str, path: str, found: Fields) -> None:
    own: list[dict[str, Any]] = []
    if prop.get("unique") is True:
        own.append({"rule": "unique", "field": path})
    bounds: dict[str, Any] = {}
    options = prop.get("logicalTypeOptions") or {}
    if prop.get("logicalType") in ("integer", "number"):
        bounds = {key: options[key] for key in ("minimum", "maximum") if key in options}
        for key in ("exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            if key in options:
                found.notes.append(f"{where}.logicalTypeOptions.{key}: no such rule on the mesh")
    range_doc: str | None = None
    for index, check in enumerate(prop.get("quality") or ()):
        at = f"{where}.quality[{index}]"
        if check.get("type") == "text" and check.get("name") == "range":
            extra = {
                item.get("property"): item.get("value")
                for item in check.get("customProperties") or ()
            }
            bounds.update({key: extra[key] for key in ("minimum", "maximum") if key in extra})
            range_doc = check.get("description")
            continue
        rule = _library_rule(check, path)
        if rule is None:
            kind = check.get("metric") or check.get("rule") or check.get("type", "library")
            found.notes.append(f"{at}: the {kind} check has no counterpart on the mesh; left out")
            continue
        if check.get("description"):
            rule["description"] = check["description"]
        if rule["rule"] == "unique" and own and own[0]["rule"] == "unique":
            own[0].update(rule)
            continue
        own.append(rule)
    if bounds:
        numbers = {("min" if key == "minimum" else "max"): value for key, value in bounds.items()}
        own.append({"rule": "range", "field": path, **numbers})
        if range_doc:
            own[-1]["description"] = range_doc
    found.rules += own


def _library_rule(check: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """A mesh rule for a library check that allows no bad row (``mustBe: 0``), else None."""
    metric = check.get("metric")  # v3.1 requires it; the v3.0 'rule' is refused by the schema
    if check.get("mustBe") not in (0, None) or check.get("unit") == "percent":
        return None
    if metric == "nullValues":
        return {"rule": "not_null", "field": path}
    if metric == "duplicateValues" and not (check.get("arguments") or {}).get("properties"):
        return {"rule": "unique", "field": path}
    valid = (check.get("arguments") or {}).get("validValues")
    if metric == "invalidValues" and valid:
        return {"rule": "allowed_values", "field": path, "values": list(valid)}
    return None
