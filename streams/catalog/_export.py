"""Export a descriptor as an ODCS v3.1 data contract or an ODPS v1 data product document.

Both validate against the standards' official JSON schemas (:mod:`streams.catalog._standards`).
The mapping is deliberately small and honest: what a standard has a key for goes there, the rest
goes into ``customProperties``. One product version is one contract, with id ``<topic>``;
the ODPS document lists it as its output port's ``contractId``.

- ODCS v3.1.0: ``servers`` (the Kafka cluster), ``schema`` (one object for the value record,
  one property per Avro field, the exact Avro schema as the object's custom property
  ``avroSchema``), property ``quality`` (library metrics ``nullValues``, ``duplicateValues``,
  ``invalidValues``; ranges as ``logicalTypeOptions``), ``slaProperties`` (``freshness``,
  ``latency``, ``retention``, ``availability``, and the mesh's own ``completeness``,
  ``duplicates``, ``validity`` and ``deadLetters`` with the monitor's defaults when the descriptor
  leaves validity or dead letters out). :func:`streams.catalog.import_odcs` reads it back.
- ODPS v1.0.0: ``description``, ``team``, ``support``, ``inputPorts``, ``outputPorts``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from streams.avro import (
    SUBJECT_ATTRIBUTE,
    FieldInfo,
    ParsedSchema,
    iter_fields,
    record_fields,
    resolve,
)
from streams.catalog._model import (
    AllowedValuesRule,
    Description,
    NotNullRule,
    Product,
    QualityRule,
    RangeRule,
    UniqueRule,
)
from streams.catalog._sla import sla_properties
from streams.catalog._standards import ODCS_VERSION, ODPS_VERSION
from streams.naming import topic_for

__all__ = ["AVRO_SCHEMA", "LOGICAL_TYPES", "PII_SUBJECT", "export_odcs", "export_odps"]

AVRO_SCHEMA = "avroSchema"
"""The schema object's custom property holding the exact Avro schema (what import restores)."""
PII_SUBJECT = "piiSubject"
"""The schema object's custom property naming the field whose value is the data subject."""

_LOGICAL = {
    "string": "string",
    "bytes": "string",
    "fixed": "string",
    "enum": "string",
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "record": "object",
    "map": "object",
    "array": "array",
}
LOGICAL_TYPES = {
    "date": "date",
    "time-millis": "time",
    "time-micros": "time",
    "timestamp-millis": "timestamp",
    "timestamp-micros": "timestamp",
    "local-timestamp-millis": "timestamp",
    "local-timestamp-micros": "timestamp",
    "decimal": "number",
}
"""Avro logical type -> ODCS logical type, where they differ from the base type's."""
_FORMATS = {"int": "i32", "long": "i64", "float": "f32", "double": "f64"}


def export_odcs(
    product: Product, schema: ParsedSchema, *, bootstrap_servers: str
) -> dict[str, Any]:
    """The product as an ODCS v3.1 data contract.

    Args:
        product: The descriptor.
        schema: Its parsed value schema (a record).
        bootstrap_servers: The Kafka cluster the topic lives on (the server's ``host``).
    """
    record = schema.definition
    record_name = str(record.get("name", "")).rpartition(".")[2]
    rules: dict[str, list[QualityRule]] = {}
    for rule in product.quality:
        rules.setdefault(rule.field, []).append(rule)
    properties = [
        _property(field, schema, rules, product) for field in iter_fields(schema, nested=False)
    ]
    contract: dict[str, Any] = {
        "apiVersion": ODCS_VERSION,
        "kind": "DataContract",
        "id": product.topic,
        "name": product.name,
        "version": f"{product.version}.0.0",
        "status": product.status,
        "domain": product.domain,
    }
    if product.description is not None:
        contract["description"] = _description(product.description)
    if product.tags:
        contract["tags"] = list(product.tags)
    if product.owner is not None:
        contract["team"] = {
            "name": product.owner.team,
            "members": [{"username": product.owner.contact, "role": "owner"}],
        }
        contract["support"] = [_support(product.owner.contact)]
    contract["servers"] = [
        {"server": "mesh", "type": "kafka", "host": bootstrap_servers, "format": "avro"}
    ]
    contract["schema"] = [
        {
            "name": record_name,
            "physicalName": product.topic,
            "physicalType": "topic",
            "logicalType": "object",
            **({"description": record["doc"]} if record.get("doc") else {}),
            "properties": properties,
            "customProperties": [
                *(
                    [{"property": PII_SUBJECT, "value": record[SUBJECT_ATTRIBUTE]}]
                    if record.get(SUBJECT_ATTRIBUTE)
                    else []
                ),
                {"property": AVRO_SCHEMA, "value": json.loads(schema.canonical)},
            ],
        }
    ]
    sla = sla_properties(product, record_name)
    if sla:
        contract["slaProperties"] = sla
    contract["customProperties"] = _custom(product, contract=True)
    return contract


def export_odps(product: Product) -> dict[str, Any]:
    """The product as an ODPS v1 data product with one output port (its topic)."""
    document: dict[str, Any] = {
        "apiVersion": ODPS_VERSION,
        "kind": "DataProduct",
        "id": product.id,
        "name": product.name,
        "version": f"{product.version}.0.0",
        "status": product.status,
        "domain": product.domain,
    }
    if product.description is not None:
        document["description"] = _description(product.description)
    if product.tags:
        document["tags"] = list(product.tags)
    if product.owner is not None:
        document["team"] = {
            "name": product.owner.team,
            "members": [{"username": product.owner.contact, "role": "owner"}],
        }
        document["support"] = [_support(product.owner.contact)]
    if product.input_ports:
        document["inputPorts"] = [
            {
                "name": port.product,
                "version": f"{port.version}.0.0",
                "contractId": topic_for(port.product, port.version),
            }
            for port in product.input_ports
        ]
    document["outputPorts"] = [
        {
            "name": product.topic,
            "description": f"Kafka topic {product.topic}, Avro values",
            "type": "topic",
            "version": f"{product.version}.0.0",
            "contractId": product.topic,
        }
    ]
    document["customProperties"] = _custom(product, contract=False)
    return document


def _support(contact: str) -> dict[str, str]:
    return {"channel": "email", "tool": "email", "url": f"mailto:{contact}"}


def _description(description: Description) -> dict[str, str]:
    out = {"purpose": description.purpose, "usage": description.usage}
    if description.limitations:
        out["limitations"] = description.limitations
    return out


def _custom(product: Product, *, contract: bool) -> list[dict[str, Any]]:
    port = product.output_port
    custom: list[dict[str, Any]] = [
        {"property": "kind", "value": product.kind},
        {"property": "partitions", "value": port.partitions},
        {"property": "compatibility", "value": port.compatibility},
        {"property": "eventTime", "value": port.event_time},
    ]
    if port.key is not None:
        custom.append({"property": "key", "value": port.key})
    if product.classification is not None:
        custom.append({"property": "classification", "value": product.classification})
    if contract and product.input_ports:
        # ODPS has input ports; a contract read alone still says what the product derives from.
        inputs = [
            {"product": item.product, "version": item.version} for item in product.input_ports
        ]
        custom.append({"property": "inputPorts", "value": inputs})
    if product.deprecation is not None:
        custom.append({"property": "deprecation", "value": product.deprecation.note})
        if product.deprecation.sunset is not None:
            custom.append({"property": "sunset", "value": product.deprecation.sunset.isoformat()})
        if product.deprecation.replaced_by is not None:
            custom.append({"property": "replacedBy", "value": product.deprecation.replaced_by})
    return custom


def _property(
    field: FieldInfo,
    schema: ParsedSchema,
    rules: dict[str, list[QualityRule]],
    product: Product,
    prefix: str = "",
) -> dict[str, Any]:
    path = f"{prefix}{field.name}"
    out, logical, base = _typed(field)
    if path == product.output_port.key:
        out["partitioned"] = True
        out["partitionKeyPosition"] = 1
    if field.pii:
        out["classification"] = product.classification or "confidential"
    options: dict[str, Any] = {"format": _FORMATS[base]} if base in _FORMATS else {}
    quality: list[dict[str, Any]] = []
    for rule in rules.get(path, []):
        if isinstance(rule, RangeRule):
            quality += _range(rule, logical, options)
            continue
        if isinstance(rule, NotNullRule):
            item: dict[str, Any] = {"type": "library", "metric": "nullValues", "mustBe": 0}
        elif isinstance(rule, UniqueRule):
            out["unique"] = True
            item = {"type": "library", "metric": "duplicateValues", "mustBe": 0}
        else:
            assert isinstance(rule, AllowedValuesRule)
            item = {
                "type": "library",
                "metric": "invalidValues",
                "arguments": {"validValues": list(rule.values)},
                "mustBe": 0,
            }
        if rule.description:
            item["description"] = rule.description
        quality.append(item)
    if options:
        out["logicalTypeOptions"] = options
    if quality:
        out["quality"] = quality
    if field.pii:
        out["customProperties"] = [{"property": "pii", "value": field.pii_mark}]
    _nest(out, field, schema, lambda child: _property(child, schema, rules, product, f"{path}."))
    return out


def _range(rule: RangeRule, logical: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """A range as the standard's numeric bounds; on other types (a timestamp's bounds are
    dates there) and for its description, a ``text`` check named ``range`` carries it."""
    bounds = {"minimum": rule.min, "maximum": rule.max}
    bounds = {key: value for key, value in bounds.items() if value is not None}
    numeric = logical in ("integer", "number")
    if numeric:
        options.update(bounds)
    if numeric and rule.description is None:
        return []
    shown = " and ".join(f"{key} {value:g}" for key, value in bounds.items())
    item: dict[str, Any] = {
        "type": "text",
        "name": "range",
        "description": rule.description or f"Values lie within {shown} (inclusive).",
    }
    if not numeric:
        item["customProperties"] = [
            {"property": key, "value": value} for key, value in bounds.items()
        ]
    return [item]


def _items(avro: Any, schema: ParsedSchema) -> dict[str, Any]:
    """An array's ``items``: their types, and a record's properties (so a reader without the
    Avro schema still sees the fields)."""
    avro = resolve(avro, schema)
    physical, logical, _ = _describe_type(avro)
    out: dict[str, Any] = {"logicalType": logical, "physicalType": physical}
    if isinstance(avro, dict) and avro.get("type") == "array":
        out["items"] = _items(avro["items"], schema)
    if isinstance(avro, dict) and avro.get("type") in ("record", "error"):
        out["properties"] = [_plain(child, schema) for child in record_fields(schema, avro)]
    return out


def _typed(field: FieldInfo) -> tuple[dict[str, Any], str, str]:
    """An ODCS property's name, types, requiredness and doc; its logical type and Avro base."""
    physical, logical, nullable, base = _describe(field)
    out: dict[str, Any] = {
        "name": field.name,
        "logicalType": logical,
        "physicalType": physical,
        "required": not nullable,
    }
    if field.doc:
        out["description"] = field.doc
    return out, logical, base


def _plain(field: FieldInfo, schema: ParsedSchema) -> dict[str, Any]:
    """A property of a record inside an array: types and doc (rules name top-level paths)."""
    out, _, _ = _typed(field)
    _nest(out, field, schema, lambda child: _plain(child, schema))
    return out


def _nest(
    out: dict[str, Any], field: FieldInfo, schema: ParsedSchema, child: Callable[[FieldInfo], Any]
) -> None:
    """A nested record's properties, or an array's items, under the property ``out``."""
    if field.nested is not None:
        out["properties"] = [child(item) for item in record_fields(schema, field.nested)]
    elif isinstance(field.value_type, dict) and field.value_type.get("type") == "array":
        out["items"] = _items(field.value_type["items"], schema)


def _describe(field: FieldInfo) -> tuple[str, str, bool, str]:
    """(physical type text, ODCS logical type, nullable, Avro base type) of a field's type."""
    nullable = isinstance(field.type, list) and "null" in field.type
    physical, logical, base = _describe_type(field.value_type)
    return physical, logical, nullable, base


def _describe_type(avro: Any) -> tuple[str, str, str]:
    """(physical type text, ODCS logical type, numeric base type or "") of an Avro type."""
    if isinstance(avro, list):
        return "union", "object", ""
    if isinstance(avro, str):
        return avro, _LOGICAL.get(avro, "string"), avro
    base = str(avro["type"])
    logical_type = avro.get("logicalType")
    physical = f"{base} ({logical_type})" if logical_type else base
    if base in ("record", "enum", "fixed"):
        physical = f"{base} {str(avro['name']).rpartition('.')[2]}"
    logical = LOGICAL_TYPES.get(str(logical_type)) or _LOGICAL.get(base, "string")
    return physical, logical, base if logical in ("integer", "number") else ""
