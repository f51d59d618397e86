"""Policies on the value schema and on the links between products."""

from __future__ import annotations

import difflib
from pathlib import Path

from streams.avro import iter_fields
from streams.catalog import (
    CLASSIFICATIONS,
    AllowedValuesRule,
    LoadedProduct,
    RangeRule,
    format_duration,
    show_path,
)
from streams.errors import ConfigError
from streams.governance._config import satisfies
from streams.governance._context import (
    PolicyContext,
    field_line,
    ref_of,
    resolve_field,
    violation,
)
from streams.governance._placeholders import is_placeholder, record_doc_placeholders
from streams.governance._product_rules import exceeds
from streams.governance._violation import Violation
from streams.naming import schema_file

__all__ = [
    "check_compatibility",
    "check_field_docs",
    "check_fields_exist",
    "check_inputs",
    "check_kind_inputs",
    "check_logical_types",
    "check_pii",
    "check_schema_location",
]

_NUMERIC = {"int", "long", "float", "double"}
_TIMESTAMPS = {"timestamp-millis", "timestamp-micros"}
# The Avro 1.12 specification's logical types. Readers ignore any other name (the value is then
# its plain base type), so a typo such as "uiid" silently drops the meaning: lint refuses it.
LOGICAL_TYPES = (
    "decimal",
    "big-decimal",
    "uuid",
    "date",
    "time-millis",
    "time-micros",
    "timestamp-millis",
    "timestamp-micros",
    "timestamp-nanos",
    "local-timestamp-millis",
    "local-timestamp-micros",
    "local-timestamp-nanos",
    "duration",
)


def check_schema_location(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV004-schema-location: the schema is ``schemas/<domain>/<Record>.avsc``, own domain.

    A superseded major version kept after a breaking change may point at its own copy,
    ``<Record>.v<version>.avsc`` (its version, the same record name): the current schema file
    holds the new major version.
    """
    product = loaded.product
    record = str(loaded.schema.definition.get("name", "")).rpartition(".")[2]
    try:
        expected = schema_file(context.root, product.domain, record)
        kept = schema_file(context.root, product.domain, record, major=product.version)
    except ConfigError as exc:
        return [
            violation(
                loaded,
                "GOV004-schema-location",
                ("outputPort", "schema"),
                str(exc),
                "name the record in PascalCase and the domain in lower_snake_case",
            )
        ]
    if loaded.schema_path.resolve() in (expected.resolve(), kept.resolve()):
        return []
    wanted = expected.relative_to(context.root).as_posix()
    superseded = kept.relative_to(context.root).as_posix()
    return [
        violation(
            loaded,
            "GOV004-schema-location",
            ("outputPort", "schema"),
            f"schema {product.output_port.schema_file!r} holds record {record!r}; it belongs "
            f"at {wanted!r}",
            f"a domain only publishes its own schemas: move the file to {wanted} (the record "
            f"named after the file), or to {superseded} to keep the schema of superseded "
            f"version {product.version}, and point 'schema:' at it",
        )
    ]


def check_field_docs(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV005-field-docs: every field of the value schema has a ``doc``.

    A placeholder (a doc starting with TODO, FIXME or TBD, as ``mesh product new`` writes) is
    a warning: the product can be applied, but its meaning is still to be written. So is a
    placeholder doc of the record itself (or of a nested record or enum).
    """
    path = show_path(loaded.schema_path)
    found = record_doc_placeholders(loaded)
    for info in iter_fields(loaded.schema):
        doc = (info.doc or "").strip()
        if doc and not is_placeholder(doc):
            continue
        found.append(
            Violation(
                rule_id="GOV005-field-docs",
                severity="warning" if doc else "error",
                path=path,
                line=field_line(loaded, info.name),
                message=(
                    f"field {info.path!r} has a placeholder doc: {doc!r}"
                    if doc
                    else f"field {info.path!r} has no doc"
                ),
                hint=(
                    'replace the placeholder with "<what the field means, its unit and when '
                    'it is null>"'
                    if doc
                    else 'add "doc": "<what the field means, its unit and when it is null>"'
                ),
            )
        )
    return found


def check_pii(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV006-pii: personal data forces a high classification and a bounded retention."""
    product = loaded.product
    personal = [info.path for info in iter_fields(loaded.schema) if info.pii]
    if not personal:
        return []
    fields = ", ".join(personal)
    config = context.config
    found: list[Violation] = []
    minimum = config.personal_data_classification
    classification = product.classification
    if classification is not None and (
        CLASSIFICATIONS.index(classification) < CLASSIFICATIONS.index(minimum)
    ):
        found.append(
            violation(
                loaded,
                "GOV006-pii",
                ("classification",),
                f"classification {classification!r} is too low for personal data ({fields})",
                f"classify the product {minimum!r} or higher, or drop the personal fields",
            )
        )
    retention, limit = product.output_port.retention, config.max_personal_data_retention
    if retention is not None and exceeds(retention, limit):
        found.append(
            violation(
                loaded,
                "GOV006-pii",
                ("outputPort", "retention"),
                f"retention {format_duration(retention)} keeps personal data ({fields}) longer "
                f"than {format_duration(limit)}",
                f"lower the retention to {format_duration(limit)} or less "
                "(governance.yaml maxPersonalDataRetention)",
            )
        )
    return found


def check_compatibility(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV010-compatibility: at least the minimum; transitive for aggregates with consumers."""
    product = loaded.product
    level = product.output_port.compatibility
    config = context.config
    ref = ref_of(loaded)
    consumers = context.consumers.get(ref, ()) if ref is not None else ()
    if product.kind == "aggregate" and consumers:
        minimum = config.consumed_aggregate_compatibility
        reason = f"an aggregate consumed by {', '.join(c.id for c in consumers)} needs"
    else:
        minimum = config.min_compatibility
        reason = "products need"
    if satisfies(level, minimum):
        return []
    return [
        violation(
            loaded,
            "GOV010-compatibility",
            ("outputPort", "compatibility"),
            f"compatibility {level} is weaker than {minimum}: {reason} at least {minimum}",
            f"set 'compatibility: {minimum}' (or a stronger level, e.g. FULL_TRANSITIVE)",
        )
    ]


def check_kind_inputs(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV011-kind-inputs: derived kinds declare inputs; source-aligned products do not."""
    product = loaded.product
    if product.kind == "source-aligned" and product.input_ports:
        return [
            violation(
                loaded,
                "GOV011-kind-inputs",
                ("inputPorts",),
                "a source-aligned product declares inputs",
                "remove 'inputPorts', or make it an 'aggregate' or 'consumer-aligned' product",
            )
        ]
    if product.kind != "source-aligned" and not product.input_ports:
        return [
            violation(
                loaded,
                "GOV011-kind-inputs",
                ("kind",),
                f"a {product.kind} product declares no inputs",
                "list the products it is derived from under 'inputPorts:' "
                "('- product: <domain>.<name>' and 'version: <major>')",
            )
        ]
    return []


def check_inputs(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV012-inputs: inputs exist on the mesh, are not the product itself, and are live."""
    found: list[Violation] = []
    own = ref_of(loaded)
    for index, port in enumerate(loaded.product.input_ports):
        ref = port.ref
        location = ("inputPorts", index, "product")
        upstream = context.products.get(ref)
        if ref == own:
            found.append(
                violation(
                    loaded,
                    "GOV012-inputs",
                    location,
                    f"{ref.topic} lists itself as an input",
                    "remove it; a product cannot be derived from itself",
                )
            )
        elif upstream is None:
            found.append(
                violation(
                    loaded,
                    "GOV012-inputs",
                    location,
                    f"input {port.product} version {port.version} does not exist",
                    f"fix the id or version, or add products/{ref.domain}/{ref.name}.yaml",
                )
            )
        elif upstream.product.status != "active":
            status = upstream.product.status
            note = upstream.product.deprecation.note if upstream.product.deprecation else ""
            found.append(
                violation(
                    loaded,
                    "GOV012-inputs",
                    location,
                    f"input {ref.topic} is {status}" + (f": {note}" if note else ""),
                    "move to its replacement (a newer major version) before its sunset",
                    severity="warning" if status == "deprecated" else "error",
                )
            )
    return found


def check_fields_exist(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV013-fields: key, event time and quality rules name fields of the right type."""
    port = loaded.product.output_port
    schema = loaded.schema
    found: list[Violation] = []

    def missing(location: tuple[str | int, ...], name: str, what: str) -> None:
        names = ", ".join(info.path for info in iter_fields(schema))
        found.append(
            violation(
                loaded,
                "GOV013-fields",
                location,
                f"{what} {name!r} is not a field of {Path(port.schema_file).name}",
                f"use one of: {names}",
            )
        )

    if port.key is not None and resolve_field(schema, port.key) is None:
        missing(("outputPort", "key"), port.key, "key")
    event_time = resolve_field(schema, port.event_time)
    if event_time is None:
        missing(("outputPort", "eventTime"), port.event_time, "event-time field")
    else:
        kind = event_time.value_type
        if not (isinstance(kind, dict) and kind.get("logicalType") in _TIMESTAMPS):
            found.append(
                violation(
                    loaded,
                    "GOV013-fields",
                    ("outputPort", "eventTime"),
                    f"event-time field {port.event_time!r} is not a timestamp",
                    'type it {"type": "long", "logicalType": "timestamp-millis"}',
                )
            )
    for index, rule in enumerate(loaded.product.quality):
        item = resolve_field(schema, rule.field)
        if item is None:
            missing(("quality", index, "field"), rule.field, f"{rule.rule} rule field")
            continue
        kind = item.value_type
        base = kind.get("type") if isinstance(kind, dict) else kind
        if isinstance(rule, RangeRule) and base not in _NUMERIC:
            found.append(
                violation(
                    loaded,
                    "GOV013-fields",
                    ("quality", index, "field"),
                    f"range rule on {rule.field!r}, which is not a number",
                    "apply ranges to int, long, float or double fields",
                )
            )
        if isinstance(rule, AllowedValuesRule) and base == "enum":
            unknown = [value for value in rule.values if value not in kind["symbols"]]
            if unknown:
                found.append(
                    violation(
                        loaded,
                        "GOV013-fields",
                        ("quality", index, "values"),
                        f"values {unknown} are not symbols of enum {kind['name']}",
                        f"use symbols of the enum: {', '.join(kind['symbols'])}",
                    )
                )
    return found


def check_logical_types(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV021-logical-type: every ``logicalType`` is one Avro knows (others are ignored)."""
    found: list[Violation] = []
    for info in iter_fields(loaded.schema):
        for logical in _logical_types(info.type):
            if logical in LOGICAL_TYPES:
                continue
            close = difflib.get_close_matches(str(logical), LOGICAL_TYPES, n=1)
            fix = f'did you mean "{close[0]}"? ' if close else ""
            found.append(
                Violation(
                    rule_id="GOV021-logical-type",
                    severity="error",
                    path=show_path(loaded.schema_path),
                    line=field_line(loaded, info.name),
                    message=f"field {info.path!r} has logicalType {logical!r}, which Avro does "
                    "not know: readers would ignore it and see the plain base type",
                    hint=f"{fix}use one of: {', '.join(LOGICAL_TYPES)}",
                )
            )
    return found


def _logical_types(node: object) -> list[object]:
    """The logicalType names in a field's type (unions, arrays and maps; not nested records,
    whose fields :func:`iter_fields` yields themselves)."""
    if isinstance(node, list):
        return [name for branch in node for name in _logical_types(branch)]
    if not isinstance(node, dict) or node.get("type") in ("record", "error"):
        return []
    found: list[object] = [node["logicalType"]] if "logicalType" in node else []
    for key in ("items", "values"):
        if key in node:
            found += _logical_types(node[key])
    return found
