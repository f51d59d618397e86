"""Export a descriptor as an ODCS v3 data contract or an ODPS v1 data product document.

The mapping is deliberately small and honest: what a standard has a key for goes there, the rest
goes into ``customProperties``. One product version is one contract, with id ``<topic>``;
the ODPS document lists it as its output port's ``contractId``.

- ODCS v3.0.2: ``schema`` (one object for the value record, one property per Avro field),
  ``quality`` (library rules ``nullCheck``, ``validValues``, ``duplicateCount``; ranges as
  ``logicalTypeOptions``), ``slaProperties`` (``freshness``, ``latency``, ``retention``,
  ``availability``; completeness, duplicates, validity and dead letters as ``text`` quality
  rules, with the monitor's defaults when the descriptor leaves validity or dead letters out).
- ODPS v1.0.0: ``description``, ``team``, ``support``, ``inputPorts``, ``outputPorts``.
"""

from __future__ import annotations

from typing import Any

from streams.avro import FieldInfo, ParsedSchema, iter_fields, record_fields
from streams.catalog._duration import INFINITE
from streams.catalog._model import (
    AllowedValuesRule,
    Description,
    Guarantees,
    NotNullRule,
    Product,
    QualityRule,
    RangeRule,
    UniqueRule,
)
from streams.naming import topic_for

__all__ = ["export_odcs", "export_odps"]

ODCS_VERSION = "v3.0.2"
ODPS_VERSION = "v1.0.0"

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
_DATES = {"date", "timestamp-millis", "timestamp-micros", "local-timestamp-millis"}


def export_odcs(product: Product, schema: ParsedSchema) -> dict[str, Any]:
    """The product as an ODCS v3 data contract.

    Args:
        product: The descriptor.
        schema: Its parsed value schema (a record).
    """
    record = schema.definition
    fields = list(iter_fields(schema, nested=False))
    record_name = str(record.get("name", "")).rpartition(".")[2] if isinstance(record, dict) else ""
    rules: dict[str, list[QualityRule]] = {}
    for rule in product.quality:
        rules.setdefault(rule.field, []).append(rule)
    properties = [_property(field, schema, rules, product) for field in fields]
    contract: dict[str, Any] = {
        "apiVersion": ODCS_VERSION,
        "kind": "DataContract",
        "id": product.topic,
        "name": product.name,
        "version": f"{product.version}.0.0",
        "status": product.status,
        "domain": product.domain,
        "dataProduct": product.id,
    }
    if product.description is not None:
        contract["description"] = _description(product.description)
    if product.tags:
        contract["tags"] = list(product.tags)
    if product.owner is not None:
        contract["team"] = [{"username": product.owner.contact, "role": "owner"}]
        contract["support"] = [{"channel": "email", "url": f"mailto:{product.owner.contact}"}]
    contract["servers"] = [{"server": "mesh", "type": "kafka", "format": "avro"}]
    contract["schema"] = [
        {
            "name": record_name,
            "physicalName": product.topic,
            "physicalType": "topic",
            "logicalType": "object",
            **({"description": record["doc"]} if record.get("doc") else {}),
            "properties": properties,
            **(
                {"quality": _object_quality(product, product.guarantees)}
                if product.guarantees
                else {}
            ),
        }
    ]
    contract["slaProperties"] = _sla(product, record_name)
    custom = _custom(product)
    if custom:
        contract["customProperties"] = custom
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
        document["support"] = [{"channel": "email", "url": f"mailto:{product.owner.contact}"}]
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
    custom = _custom(product)
    if custom:
        document["customProperties"] = custom
    return document


def _description(description: Description) -> dict[str, str]:
    out = {"purpose": description.purpose, "usage": description.usage}
    if description.limitations:
        out["limitations"] = description.limitations
    return out


def _custom(product: Product) -> list[dict[str, Any]]:
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
    if product.deprecation is not None:
        custom.append({"property": "deprecation", "value": product.deprecation.note})
        if product.deprecation.sunset is not None:
            custom.append({"property": "sunset", "value": product.deprecation.sunset.isoformat()})
    return custom


def _property(
    field: FieldInfo,
    schema: ParsedSchema,
    rules: dict[str, list[QualityRule]],
    product: Product,
    prefix: str = "",
) -> dict[str, Any]:
    name = field.name
    path = f"{prefix}{name}"
    kind, logical, nullable = _describe(field)
    out: dict[str, Any] = {
        "name": name,
        "logicalType": logical,
        "physicalType": kind,
        "required": not nullable,
    }
    if field.doc:
        out["description"] = field.doc
    if field.pii:
        out["classification"] = product.classification or "confidential"
        out["customProperties"] = [{"property": "pii", "value": True}]
    if path == product.output_port.key:
        out["partitionKeyPosition"] = 1
    own = rules.get(path, [])
    options: dict[str, float] = {}
    quality: list[dict[str, Any]] = []
    for rule in own:
        if isinstance(rule, NotNullRule):
            quality.append({"type": "library", "rule": "nullCheck", "mustBe": 0})
        elif isinstance(rule, UniqueRule):
            out["unique"] = True
            quality.append({"type": "library", "rule": "duplicateCount", "mustBe": 0})
        elif isinstance(rule, AllowedValuesRule):
            quality.append(
                {"type": "library", "rule": "validValues", "validValues": list(rule.values)}
            )
        elif isinstance(rule, RangeRule):
            if rule.min is not None:
                options["minimum"] = rule.min
            if rule.max is not None:
                options["maximum"] = rule.max
    if options:
        out["logicalTypeOptions"] = options
    if quality:
        out["quality"] = quality
    if field.nested is not None:
        out["properties"] = [
            _property(child, schema, rules, product, f"{path}.")
            for child in record_fields(schema, field.nested)
        ]
    return out


def _describe(field: FieldInfo) -> tuple[str, str, bool]:
    """(physical type text, ODCS logical type, nullable) of a field's Avro type."""
    nullable = isinstance(field.type, list) and "null" in field.type
    avro = field.value_type
    if isinstance(avro, list):
        return "union", "object", nullable
    if isinstance(avro, str):
        return avro, _LOGICAL.get(avro, "string"), nullable
    base = avro["type"]
    logical_type = avro.get("logicalType")
    physical = f"{base} ({logical_type})" if logical_type else base
    if base in ("record", "enum", "fixed"):
        physical = f"{base} {str(avro['name']).rpartition('.')[2]}"
    logical = "date" if logical_type in _DATES else _LOGICAL.get(base, "string")
    return physical, logical, nullable


def _object_quality(product: Product, guarantees: Guarantees) -> list[dict[str, Any]]:
    quality: list[dict[str, Any]] = [
        {
            "type": "text",
            "name": "completeness",
            "description": (
                f"At least {guarantees.completeness:.4%} of the events produced upstream are "
                "published."
            ),
        },
        {
            "type": "text",
            "name": "duplicates",
            "description": (
                f"At most {guarantees.max_duplicate_share:.4%} of published events are "
                "duplicates (same id delivered twice)."
            ),
        },
    ]
    validity = product.promised_validity
    if validity is not None:
        quality.append(
            {
                "type": "text",
                "name": "validity",
                "description": (
                    f"At least {validity:.4%} of published events pass the quality rules."
                ),
            }
        )
    quality.append(
        {
            "type": "text",
            "name": "deadLetters",
            "description": (
                f"At most {product.promised_dead_letters} records per monitoring window go to "
                f"the dead-letter topic {product.ref.dlq}."
            ),
        }
    )
    return quality


def _sla(product: Product, record_name: str) -> list[dict[str, Any]]:
    port = product.output_port
    element = f"{record_name}.{port.event_time}"
    sla: list[dict[str, Any]] = []
    if product.guarantees is not None:
        guarantees = product.guarantees
        sla += [
            {"property": "freshness", **_amount(guarantees.freshness), "element": element},
            {"property": "latency", **_amount(guarantees.latency), "element": element},
            {"property": "availability", "value": guarantees.availability * 100, "unit": "%"},
        ]
    if port.retention is not None and port.retention != INFINITE:
        sla.append({"property": "retention", **_amount(port.retention), "element": element})
    return sla


def _amount(seconds: int) -> dict[str, Any]:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0:
            return {"value": seconds // size, "unit": unit}
    return {"value": seconds, "unit": "seconds"}
