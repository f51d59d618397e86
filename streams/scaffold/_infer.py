"""A sample JSON event -> the Avro fields of its record, as ``mesh product new --from-json``.

Each value gives its field's type: ``true`` a boolean, ``3`` a long, ``2.5`` a double, a UUID
string a ``uuid``, an ISO 8601 time with a zone a ``timestamp-millis``, ``YYYY-MM-DD`` a
``date``, other strings a string, an object a nested record, an array of alike items an array.
A value that says nothing about its type (``null``, ``[]``, ``{}``) or an array that mixes
types is refused with the key's path and how to fix the sample: guessing would publish a
schema whose evolution rules then bind every consumer.

A field the mesh already has (same name, same type, in another product's schema) keeps that
schema's doc and ``pii`` flag: one name, one meaning. A field spelled as a UUID elsewhere must be
one here too. Every other field gets a ``TODO`` doc, which ``mesh product lint`` reports as a
warning (``GOV005-field-docs``) until the domain writes what the field means.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streams.avro import Protection
from streams.errors import ConfigError

__all__ = [
    "EVENT_ID_FIELD",
    "EVENT_TIME_FIELD",
    "PII_NAMES",
    "TIMESTAMP_TYPE",
    "UUID_TYPE",
    "KnownField",
    "infer_fields",
    "pascal_case",
    "protection_for",
    "todo_doc",
]

UUID_TYPE: dict[str, str] = {"type": "string", "logicalType": "uuid"}
TIMESTAMP_TYPE: dict[str, str] = {"type": "long", "logicalType": "timestamp-millis"}
DATE_TYPE: dict[str, str] = {"type": "int", "logicalType": "date"}

EVENT_ID_FIELD: dict[str, Any] = {
    "name": "event_id",
    "type": UUID_TYPE,
    "doc": "Unique id of this event, set by its producer; consumers deduplicate on it.",
}
EVENT_TIME_FIELD: dict[str, Any] = {
    "name": "event_time",
    "type": TIMESTAMP_TYPE,
    "doc": "When the event happened, on the producer's clock (UTC, to the millisecond).",
}

PII_NAMES = frozenset(
    {"user_id", "email", "contact_email", "display_name", "legal_name", "phone", "ip_address"}
    | {"latitude", "longitude", "date_of_birth", "postal_code", "street_address"}
)
"""Field names that identify or locate a person: inferred fields so named get a ``"pii"``
protection (:func:`protection_for`)."""

_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_LONG = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class KnownField:
    """A top-level field of a schema already on the mesh.

    Attributes:
        type: Its type, as a value has it (``null`` dropped from an optional field).
        doc: Its doc.
        pii: Its protection, when it is marked personal.
        where: The schema file, for messages.
    """

    type: Any
    doc: str
    pii: Protection | None
    where: str


def todo_doc(name: str) -> str:
    """The placeholder doc of an inferred field (a ``GOV005-field-docs`` warning)."""
    return f"TODO: what {name} means, its unit and when it is null."


def pascal_case(name: str) -> str:
    """``play_events`` -> ``PlayEvents``; ``first-name`` -> ``FirstName``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def infer_fields(
    sample: Mapping[str, Any],
    *,
    source: str = "sample",
    record: str = "",
    known: Mapping[str, KnownField] | None = None,
) -> list[dict[str, Any]]:
    """The Avro fields of a sample event, with ``event_id`` and ``event_time`` first.

    ``event_id`` (a UUID) and ``event_time`` (epoch milliseconds or ISO 8601 with a zone) are
    added when the sample lacks them, as the mesh's conventions require both on every event.

    Args:
        sample: One event, as a JSON object decodes.
        source: What to call the sample in messages (its file name).
        record: The name of the record the fields go in (nested records get other names).
        known: The mesh's top-level fields by name (their docs and ``pii`` flags are reused).

    Raises:
        ConfigError: A value cannot be typed; the message names its key (``a.b[2]``).
    """
    if not isinstance(sample, Mapping):
        raise ConfigError(
            f"{source}: expected one JSON object (an event), got {type(sample).__name__}; "
            'write the sample as {"field": value, ...}'
        )
    _check_conventional(sample, source)
    names = {record}
    fields = [dict(EVENT_ID_FIELD), dict(EVENT_TIME_FIELD)]
    for key, value in sample.items():
        if key in ("event_id", "event_time"):
            continue
        field = _field(key, value, key, names, source)
        same = (known or {}).get(key)
        if same is not None:
            field = _as_known(field, value, same, source)
        fields.append(field)
    return fields


def _as_known(field: dict[str, Any], value: Any, same: KnownField, source: str) -> dict[str, Any]:
    """``field`` with the doc and flag of the mesh's field of that name, when the types agree."""
    key = field["name"]
    if field["type"] == same.type:
        protection = same.pii or protection_for(key, field["type"])
        pii = {"pii": protection} if protection else {}
        return {"name": key, "type": field["type"], "doc": same.doc or todo_doc(key), **pii}
    if same.type == UUID_TYPE:
        raise ConfigError(
            f"{source}: key {key!r} is {value!r}, but {key} is a UUID in {same.where}: the mesh "
            "spells a field one way; put a UUID in the sample, or rename the key"
        )
    return field


def _check_conventional(sample: Mapping[str, Any], source: str) -> None:
    if "event_id" in sample and not _is_uuid(sample["event_id"]):
        raise ConfigError(
            f"{source}: key 'event_id' is {sample['event_id']!r}, not a UUID: the mesh's "
            "events carry a UUID event_id consumers deduplicate on; put a UUID in the sample "
            "(e.g. '0b9c1c2e-7d3a-4c1e-9a57-2f1d0e8b6a41') or rename the key"
        )
    if "event_time" in sample:
        value = sample["event_time"]
        epoch = type(value) is int
        if not (epoch or (isinstance(value, str) and _aware_time(value) is not None)):
            raise ConfigError(
                f"{source}: key 'event_time' is {value!r}, not a time: write epoch milliseconds "
                "or ISO 8601 with a zone (e.g. '2026-01-31T18:30:00Z')"
            )


def _field(key: str, value: Any, path: str, names: set[str], source: str) -> dict[str, Any]:
    if not _AVRO_NAME.match(key):
        fixed = re.sub(r"\W", "_", key)
        fixed = fixed if _AVRO_NAME.match(fixed) else f"_{fixed}"
        raise ConfigError(
            f"{source}: key {path!r} is not a valid Avro field name: use letters, digits and "
            f"underscores, not starting with a digit (e.g. {fixed!r})"
        )
    field: dict[str, Any] = {
        "name": key,
        "type": _type(value, path, key, names, source),
        "doc": todo_doc(key),
    }
    protection = protection_for(key, field["type"])
    if protection is not None:
        field["pii"] = protection
    return field


def protection_for(name: str, kind: Any) -> Protection | None:
    """The protection of an inferred field: ids of a person are pseudonymized (they still join),
    other personal fields encrypted; ``None`` when the name is not personal. A personal value
    whose type cannot hold a ciphertext (a number, a date) is encrypted too: lint then asks to
    store it as a string, which the scaffolder cannot decide for the producer."""
    if name not in PII_NAMES:
        return None
    base = kind.get("type") if isinstance(kind, dict) else kind
    if name.endswith("_id") and base in ("string", "long", "int"):
        return "pseudonymize"
    return "encrypt"


def _type(value: Any, path: str, key: str, names: set[str], source: str) -> Any:
    if value is None:
        raise ConfigError(
            f"{source}: key {path!r} is null, which says nothing about its type; give it a "
            "typical value in the sample (make the field optional afterwards with "
            '["null", <type>] and "default": null)'
        )
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        if not _LONG[0] <= value <= _LONG[1]:
            raise ConfigError(
                f"{source}: key {path!r} is {value}, beyond a 64-bit long; write it as a string "
                "in the sample if it is an identifier, or use a smaller number"
            )
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return _string_type(value)
    if isinstance(value, Mapping):
        return _record(value, path, key, names, source)
    if isinstance(value, list):
        return _array(value, path, key, names, source)
    raise ConfigError(f"{source}: key {path!r} holds {type(value).__name__}, which is not JSON")


def _string_type(value: str) -> Any:
    if _is_uuid(value):
        return dict(UUID_TYPE)
    if _aware_time(value) is not None:
        return dict(TIMESTAMP_TYPE)
    if _DATE.match(value):
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return "string"
        return dict(DATE_TYPE)
    return "string"


def _record(
    value: Mapping[str, Any], path: str, key: str, names: set[str], source: str
) -> dict[str, Any]:
    if not value:
        raise ConfigError(
            f"{source}: key {path!r} is an empty object, which says nothing about its fields; "
            "give it its fields in the sample"
        )
    name = pascal_case(key) or "Record"
    if not _AVRO_NAME.match(name) or name[0].isdigit():
        name = f"R{name}"
    base, number = name, 2
    while name in names:  # one schema cannot define a name twice
        name, number = f"{base}{number}", number + 1
    names.add(name)
    return {
        "type": "record",
        "name": name,
        "doc": f"TODO: what a {key} holds.",
        "fields": [
            _field(inner, item, f"{path}.{inner}", names, source) for inner, item in value.items()
        ],
    }


def _array(value: Sequence[Any], path: str, key: str, names: set[str], source: str) -> Any:
    if not value:
        raise ConfigError(
            f"{source}: key {path!r} is an empty array, which says nothing about its items; "
            "give it at least one typical item in the sample"
        )
    before = set(names)
    first = _type(value[0], f"{path}[0]", key, names, source)
    items = first
    for index, item in enumerate(value[1:], start=1):
        # Each item is typed as if it were the first, so alike records get the same name.
        kind = _type(item, f"{path}[{index}]", key, set(before), source)
        if kind == items:
            continue
        if {_describe(kind), _describe(items)} == {"long", "double"}:
            items = "double"  # 1 and 2.5 are both numbers: doubles hold them
            continue
        raise ConfigError(
            f"{source}: key {path!r} mixes {_describe(first)} (item 0) and {_describe(kind)} "
            f"(item {index}): an Avro array holds one type; make the sample's items alike, or "
            "split the values into separate fields"
        )
    return {"type": "array", "items": items}


def _describe(kind: Any) -> str:
    if isinstance(kind, dict):
        if "logicalType" in kind:
            return str(kind["logicalType"])
        if kind["type"] == "record":
            return f"records {json.dumps([f['name'] for f in kind['fields']])}"
        if kind["type"] == "array":
            return f"arrays of {_describe(kind['items'])}"
    return str(kind)


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _aware_time(value: str) -> datetime.datetime | None:
    if len(value) < 16 or value[10] not in "Tt ":
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
