"""Read an ODCS v3 data contract as a product: a descriptor document and an Avro schema.

The inverse of :func:`streams.catalog.export_odcs`: a contract the mesh exported comes back as
the descriptor and schema it was made from (the exact Avro schema travels in the schema object's
``avroSchema`` custom property; the descriptor's own keys in ``customProperties``). Any other
contract is read from the standard's keys:

- product: ``--domain``/``--name``, else the contract's ``domain`` and ``name`` in snake_case;
  the major version from ``version`` (``2.1.0`` is 2);
- owner: ``team`` (a member whose username is an e-mail, an ``owner`` first) or an e-mail
  ``support`` channel; description, tags and status (``draft``/``proposed`` become ``active``);
- the value record: the one ``schema`` object (``object`` picks one of several), its properties
  as fields (:mod:`streams.catalog._import_fields`);
- output port: ``key`` from ``partitionKeyPosition``/``primaryKeyPosition`` 1, event time from
  the freshness or latency SLA's ``element`` or the first timestamp (an ``event_time`` field is
  added when there is none), retention from the ``retention`` SLA;
- guarantees from ``slaProperties`` (``freshness``, ``latency``, ``availability``,
  ``completeness``, ``duplicates``, ``validity``, ``deadLetters``).

What the contract leaves out (partitions, compatibility, classification, retention, guarantees,
owner) is left out of the descriptor here: the caller fills it with the mesh's policy defaults
(:func:`streams.scaffold.import_contract`). Every choice made and everything left out is a note.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from streams.avro import SUBJECT_ATTRIBUTE, parse_schema
from streams.catalog._export import AVRO_SCHEMA, PII_SUBJECT
from streams.catalog._import_fields import pascal_case, read_fields, snake_case
from streams.catalog._model import CLASSIFICATIONS, Kind, Status
from streams.catalog._sla import read_duration, read_guarantees
from streams.catalog._standards import require_valid
from streams.errors import ConfigError, ContractError, InvalidSchemaError
from streams.naming import ProductRef, parse_product

__all__ = ["ImportedContract", "import_odcs"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_VERSIONED = re.compile(r"_v\d+\Z")
_TOPIC = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9][0-9]*\Z")


@dataclass(frozen=True, slots=True)
class ImportedContract:
    """A contract read as a product.

    Attributes:
        ref: The product at its major version.
        descriptor: The descriptor document (camelCase keys), without what the contract does
            not say; :class:`~streams.catalog.Product` validates it once those are filled.
        schema: The Avro record, as it will be written to ``schemas/<domain>/<Record>.avsc``.
        personal: Whether a field is marked ``pii`` (the classification's floor).
        notes: What was chosen or left out, each starting with the contract's JSON path.
    """

    ref: ProductRef
    descriptor: dict[str, Any]
    schema: dict[str, Any]
    personal: bool
    notes: tuple[str, ...]

    @property
    def record(self) -> str:
        """The record's name without namespace (the schema file's name)."""
        return str(self.schema["name"]).rpartition(".")[2]


def import_odcs(
    contract: Mapping[str, Any],
    *,
    source: str,
    domain: str | None = None,
    name: str | None = None,
    object_name: str | None = None,
    namespace: str | None = None,
) -> ImportedContract:
    """The product an ODCS contract describes.

    Args:
        contract: The parsed contract (YAML or JSON).
        source: Where it came from, for messages (a file name).
        domain: The product's domain (default: the contract's).
        name: The product's name (default: the contract's, in snake_case).
        object_name: Which ``schema`` object is the value record, when there are several.
        namespace: The Avro namespace of a record built from properties (default: the domain).

    Raises:
        ContractError: The contract breaks the ODCS schema, or names no usable record; the
            message gives the JSON path and the fix.
    """
    require_valid("odcs", contract, source=source)
    notes: list[str] = []
    custom = _custom(contract.get("customProperties"))
    ref = _ref(contract, custom, source, domain, name, notes)
    index, table = _table(contract, source, object_name)
    base = f"schema[{index}]"
    table_custom = _custom(table.get("customProperties"))
    exact = table_custom.get(AVRO_SCHEMA)
    if isinstance(exact, Mapping):
        schema = copy.deepcopy(dict(exact))
        read = read_fields(table.get("properties") or [], f"{base}.properties", "")
        personal = any("pii" in item for item in _all_fields(schema))
        _same_fields(schema, table, base, source)
    else:
        record = pascal_case(str(table["name"]))
        read = read_fields(table.get("properties") or [], f"{base}.properties", record)
        personal = read.personal
        schema = {
            "type": "record",
            "name": record,
            "namespace": namespace or ref.domain,
            "doc": str(table.get("description") or f"TODO: what one {record} record says."),
            **({SUBJECT_ATTRIBUTE: subject} if (subject := table_custom.get(PII_SUBJECT)) else {}),
            "fields": read.fields,
        }
    notes += read.notes if isinstance(exact, Mapping) else [*read.type_notes, *read.notes]
    for number, check in enumerate(table.get("quality") or []):
        kind = check.get("metric") or check.get("rule") or check.get("type", "library")
        notes.append(
            f"{base}.quality[{number}]: the {kind} check on the whole object has no "
            "counterpart on the mesh (its rules are per field); left out"
        )
    where = f"{base}.customProperties {AVRO_SCHEMA}" if isinstance(exact, Mapping) else base
    _check_avro(schema, where, source)
    if not schema.get("fields"):
        raise ContractError(
            f"{source}: {base} has no properties; a product publishes a record with fields: "
            "add its columns under 'properties:'",
            source=source,
            problems=[f"{base}.properties: missing"],
        )
    descriptor = _descriptor(contract, custom, ref, schema, table, notes)
    descriptor["outputPort"]["schema"] = f"schemas/{ref.domain}/{_short(schema['name'])}.avsc"
    if read.rules:
        descriptor["quality"] = read.rules
    read_guarantees(contract, descriptor, notes)
    return ImportedContract(
        ref=ref, descriptor=descriptor, schema=schema, personal=personal, notes=tuple(notes)
    )


def _check_avro(schema: Mapping[str, Any], where: str, source: str) -> None:
    """The record must be valid Avro (an edited ``avroSchema`` may not be)."""
    try:
        parsed = parse_schema(json.dumps(schema))
    except InvalidSchemaError as exc:
        raise ContractError(
            f"{source}: {where} is not a valid Avro schema: {exc}",
            source=source,
            problems=[f"{where}: {exc}"],
        ) from exc
    if not isinstance(parsed.definition, dict) or parsed.definition.get("type") != "record":
        raise ContractError(
            f"{source}: {where} is not an Avro record; a product's values are records",
            source=source,
            problems=[f"{where}: not a record"],
        )


def _custom(items: object) -> dict[str, Any]:
    if not isinstance(items, Sequence):
        return {}
    return {str(item["property"]): item["value"] for item in items if isinstance(item, Mapping)}


def _ref(
    contract: Mapping[str, Any],
    custom: Mapping[str, Any],
    source: str,
    domain: str | None,
    name: str | None,
    notes: list[str],
) -> ProductRef:
    identifier = str(contract["id"])
    own = parse_product(identifier) if _TOPIC.match(identifier) else None
    chosen_domain = domain or (own.domain if own else snake_case(str(contract.get("domain", ""))))
    chosen_name = name or (own.name if own else snake_case(str(contract.get("name", ""))))
    if name is None and _VERSIONED.search(chosen_name):
        # The version is the product's major version, not part of its name.
        notes.append(f"name: {chosen_name!r} without its version suffix")
        chosen_name = _VERSIONED.sub("", chosen_name)
    if not chosen_domain:
        raise ContractError(
            f"{source}: the contract names no domain: add 'domain:' or pass --domain",
            source=source,
            problems=["domain: missing"],
        )
    if not chosen_name:
        raise ContractError(
            f"{source}: the contract has no name: add 'name:' or pass --name",
            source=source,
            problems=["name: missing"],
        )
    version = str(contract["version"])
    major = re.match(r"v?(\d+)", version)
    number = int(major[1]) if major else 0
    if number < 1:
        notes.append(f"version: {version!r} is published as major version 1")
        number = 1
    try:
        return parse_product(f"{chosen_domain}.{chosen_name}", major=number)
    except ConfigError as exc:
        raise ContractError(
            f"{source}: {exc}; pass --domain/--name", source=source, problems=[str(exc)]
        ) from exc


def _table(
    contract: Mapping[str, Any], source: str, object_name: str | None
) -> tuple[int, Mapping[str, Any]]:
    tables = list(contract.get("schema") or [])
    names = [str(item.get("name")) for item in tables]
    if object_name is not None:
        if object_name not in names:
            raise ContractError(
                f"{source}: no schema object {object_name!r}; choose one of {', '.join(names)}",
                source=source,
                problems=[f"schema: no object {object_name!r}"],
            )
        return names.index(object_name), tables[names.index(object_name)]
    if len(tables) != 1:
        listed = f": {', '.join(names)}" if names else ""
        raise ContractError(
            f"{source}: 'schema' holds {len(tables)} objects{listed}; a product publishes one "
            "record: pass --object NAME (one product per object)"
            if tables
            else f"{source}: the contract has no 'schema'; add the record's object under "
            "'schema:' with its 'properties:'",
            source=source,
            problems=[f"schema: {len(tables)} objects"],
        )
    return 0, tables[0]


def _same_fields(
    schema: Mapping[str, Any], table: Mapping[str, Any], base: str, source: str
) -> None:
    """The exact Avro schema must describe the properties listed beside it."""
    declared = [str(item.get("name")) for item in schema.get("fields", [])]
    listed = [str(item.get("name")) for item in table.get("properties") or []]
    if declared != listed:
        raise ContractError(
            f"{source}: {base}.customProperties {AVRO_SCHEMA} has fields {declared}, but "
            f"{base}.properties lists {listed}; edit both alike, or remove the {AVRO_SCHEMA} "
            "custom property to build the schema from the properties",
            source=source,
            problems=[f"{base}.customProperties: {AVRO_SCHEMA} disagrees with properties"],
        )


def _all_fields(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for item in record.get("fields", []):
        found.append(item)
        kinds = item["type"] if isinstance(item["type"], list) else [item["type"]]
        for kind in kinds:
            if isinstance(kind, Mapping) and kind.get("type") == "record":
                found += _all_fields(kind)
    return found


def _short(full: object) -> str:
    return str(full).rpartition(".")[2]


def _descriptor(
    contract: Mapping[str, Any],
    custom: Mapping[str, Any],
    ref: ProductRef,
    schema: Mapping[str, Any],
    table: Mapping[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    kind = custom.get("kind")
    inputs = custom.get("inputPorts")
    if kind not in get_args(Kind):
        kind = "aggregate" if inputs else "source-aligned"
    status = str(contract["status"])
    if status not in get_args(Status):
        notes.append(f"status: {status!r} is published as 'active' (the mesh's first status)")
        status = "active"
    document: dict[str, Any] = {
        "name": ref.name,
        "domain": ref.domain,
        "version": ref.major,
        "kind": kind,
        "status": status,
    }
    if status != "active":
        note = custom.get("deprecation") or f"{status.capitalize()} in the imported contract."
        deprecation: dict[str, Any] = {"note": str(note)}
        if custom.get("sunset"):
            deprecation["sunset"] = str(custom["sunset"])
        if custom.get("replacedBy"):
            deprecation["replacedBy"] = str(custom["replacedBy"])
        document["deprecation"] = deprecation
    owner = _owner(contract, ref)
    if owner is not None:
        document["owner"] = owner
    else:
        notes.append("team: no member or support channel with an e-mail address for the owner")
    described = contract.get("description") or {}
    document["description"] = {
        "purpose": str(described.get("purpose") or table.get("description") or "TODO: purpose."),
        "usage": str(described.get("usage") or "TODO: what consumers use it for, and how."),
    }
    if described.get("limitations"):
        document["description"]["limitations"] = str(described["limitations"])
    classification = custom.get("classification")
    if classification not in CLASSIFICATIONS:
        levels = [str(item.get("classification", "")).lower() for item in _properties(table)]
        ranked = [CLASSIFICATIONS.index(level) for level in levels if level in CLASSIFICATIONS]
        classification = CLASSIFICATIONS[max(ranked)] if ranked else None
    if classification is not None:
        document["classification"] = classification
    if contract.get("tags"):
        document["tags"] = [str(tag) for tag in contract["tags"]]
    document["outputPort"] = _port(contract, custom, schema, table, notes)
    if isinstance(inputs, list) and inputs:
        document["inputPorts"] = inputs
    return document


def _properties(table: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for item in table.get("properties") or []:
        found += [item, *_properties(item)]
    return found


def _owner(contract: Mapping[str, Any], ref: ProductRef) -> dict[str, str] | None:
    team = contract.get("team")
    members = team.get("members") or [] if isinstance(team, Mapping) else team or []
    emails = [m for m in members if _EMAIL.match(str(m.get("username", "")))]
    emails.sort(key=lambda member: "owner" not in str(member.get("role", "")).lower())
    contact = str(emails[0]["username"]) if emails else None
    if contact is None:
        for item in contract.get("support") or []:
            address = str(item.get("url", "")).removeprefix("mailto:")
            if _EMAIL.match(address):
                contact = address
                break
    if contact is None:
        return None
    name = team.get("name") if isinstance(team, Mapping) else None
    return {"team": str(name or f"{ref.domain}-team"), "contact": contact}


def _port(
    contract: Mapping[str, Any],
    custom: Mapping[str, Any],
    schema: Mapping[str, Any],
    table: Mapping[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    fields = {str(item["name"]): item for item in schema["fields"]}
    port: dict[str, Any] = {"schema": ""}
    key = custom.get("key")
    # The record's identity keys it (compaction, order per key); else its partitioning column.
    for position in ("primaryKeyPosition", "partitionKeyPosition"):
        for item in table.get("properties") or []:
            if key is None and item.get(position) == 1 and item.get("name") in fields:
                key = item["name"]
    if key is not None:
        port["key"] = str(key)
    port["eventTime"] = custom.get("eventTime") or _event_time(contract, schema, fields, notes)
    if isinstance(custom.get("partitions"), int):
        port["partitions"] = custom["partitions"]
    for item in contract.get("slaProperties") or []:
        if item.get("property") == "retention":
            value = item.get("value")
            port["retention"] = "infinite" if value == "infinite" else read_duration(item, notes)
    if custom.get("compatibility"):
        port["compatibility"] = str(custom["compatibility"])
    return {key: value for key, value in port.items() if value is not None}


def _event_time(
    contract: Mapping[str, Any],
    schema: Mapping[str, Any],
    fields: Mapping[str, Any],
    notes: list[str],
) -> str:
    timestamps = [name for name, item in fields.items() if _is_timestamp(item["type"])]
    for item in contract.get("slaProperties") or []:
        element = str(item.get("element") or "").split(",")[0].strip().rpartition(".")[2]
        if item.get("property") in ("freshness", "latency") and element in timestamps:
            return element
    if timestamps:
        notes.append(f"outputPort.eventTime: {timestamps[0]!r}, the first timestamp property")
        return timestamps[0]
    if "event_time" in fields:
        notes.append("outputPort.eventTime: 'event_time', which is no timestamp: lint says how")
        return "event_time"
    schema["fields"].append(
        {
            "name": "event_time",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When the event happened (added by import: every event has an event time).",
        }
    )
    notes.append("schema: no timestamp property; 'event_time' added as the event time")
    return "event_time"


def _is_timestamp(kind: Any) -> bool:
    kinds = kind if isinstance(kind, list) else [kind]
    return any(
        isinstance(item, Mapping) and str(item.get("logicalType", "")).startswith("timestamp")
        for item in kinds
    )
