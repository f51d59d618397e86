"""``mesh product new``: write a new product's schema, descriptor, models, code and test."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from streams.avro import SUBJECT_ATTRIBUTE, parse_schema
from streams.catalog import LoadedProduct, load_product, product_files
from streams.codegen import write as write_models
from streams.errors import ConfigError, DescriptorError, InvalidSchemaError
from streams.governance import load_governance
from streams.naming import ProductRef, parse_product, schema_file
from streams.scaffold._descriptor import AGGREGATE_WINDOW_S, descriptor
from streams.scaffold._fields import (
    aggregate_fields,
    all_fields,
    check_key,
    example_record,
    known_fields,
    source_fields,
)
from streams.scaffold._infer import pascal_case
from streams.scaffold._templates import aggregate_code, product_test

__all__ = ["NewKind", "Scaffold", "new_product"]

NewKind = Literal["source-aligned", "aggregate"]


@dataclass(frozen=True, slots=True)
class Scaffold:
    """What :func:`new_product` wrote.

    Attributes:
        ref: The new product (version 1).
        kind: Its kind.
        descriptor: ``products/<domain>/<name>.yaml``.
        written: Every file written, the generated models included, sorted.
    """

    ref: ProductRef
    kind: NewKind
    descriptor: Path
    written: tuple[Path, ...]


def new_product(
    root: Path,
    name: str,
    *,
    kind: NewKind = "source-aligned",
    sample: Path | None = None,
    inputs: Sequence[str] = (),
    key: str | None = None,
    record: str | None = None,
    force: bool = False,
) -> Scaffold:
    """Create product ``name`` (``<domain>.<name>``) under repository ``root``.

    Writes ``schemas/<domain>/<Record>.avsc``, ``products/<domain>/<name>.yaml`` (with the
    policy's defaults), ``products/<domain>/events.py`` (``mesh codegen``), for an aggregate
    ``products/<domain>/<name>.py``, and ``tests/products/<domain>/test_<name>.py``.

    Args:
        root: The repository root (``products/``, ``schemas/``, ``governance.yaml``).
        name: ``<domain>.<name>`` of the new product.
        kind: ``source-aligned`` (events written by producers) or ``aggregate`` (computed from
            ``inputs`` by agents).
        sample: A JSON file holding one event; the schema's fields are inferred from it.
        inputs: An aggregate's input products (``<domain>.<name>`` or ``...v<major>``).
        key: The key field (default: an aggregate's inputs' key; else none).
        record: The record name (default: the product name in PascalCase, singular).
        force: Overwrite files that exist (otherwise they are named and nothing is written).

    Raises:
        ConfigError: A bad name, sample, input or key, or files that exist; the message names
            them and says how to fix it.
    """
    ref = _new_ref(name)
    aggregate = kind == "aggregate"
    if aggregate and not inputs:
        raise ConfigError(f"{ref.id}: an aggregate needs its inputs: add --from <domain>.<name>")
    if not aggregate and inputs:
        raise ConfigError(
            f"{ref.id}: only an aggregate is computed from inputs: add --kind aggregate, or "
            "drop --from"
        )
    if aggregate and sample is not None:
        raise ConfigError(
            f"{ref.id}: an aggregate's fields come from its code, not a sample event: drop "
            "--from-json (or make it a source-aligned product)"
        )
    if not ((root / "products").is_dir() or (root / "schemas").is_dir()):
        raise ConfigError(
            f"{root} holds no products/ or schemas/: run from the repository root or pass --root"
        )
    existing = load_all(root)
    upstream = [_input(item, existing) for item in inputs]
    record = record or _record_name(ref.name)
    schema_path = schema_file(root, ref.domain, record)  # checks the record's spelling
    if aggregate:
        fields, key = aggregate_fields(ref, upstream, key)
        example: dict[str, Any] = example_record(fields)
    else:
        fields, example = source_fields(sample, record, known_fields(root, existing))
        key = check_key(ref, key, fields)
    definition: dict[str, Any] = {
        "type": "record",
        "name": record,
        "namespace": namespace_for(ref.domain, existing),
        "doc": f"TODO: what one {record} record of {ref.id} says.",
        **_subject(fields, key),
        "fields": fields,
    }
    try:
        parse_schema(json.dumps(definition))
    except InvalidSchemaError as exc:  # e.g. a nested record named like an enum elsewhere
        raise ConfigError(f"{ref.id}: the inferred schema is not valid Avro: {exc}") from exc
    descriptor_path = root / "products" / ref.domain / f"{ref.name}.yaml"
    document = descriptor(
        ref,
        kind=kind,
        schema=schema_path.relative_to(root).as_posix(),
        key=key,
        personal=any(field.get("pii") for field in all_fields(fields)),
        config=load_governance(root),
        domain_products=[
            p for p in existing if p.product.domain == ref.domain and p.product.id != ref.id
        ],
        inputs=upstream,
    )
    files: dict[Path, str] = {
        schema_path: json.dumps(definition, indent=2, ensure_ascii=False) + "\n",
        descriptor_path: _yaml(ref, document),
    }
    if aggregate:
        time_field = upstream[0].product.output_port.event_time
        files[root / "products" / ref.domain / f"{ref.name}.py"] = aggregate_code(
            ref,
            inputs=[item.product.ref for item in upstream],
            key=str(key),
            event_time=time_field,
            window_s=AGGREGATE_WINDOW_S,
        )
    files.update(_tests(root, ref, record, example, key if aggregate else None, upstream))
    _refuse_existing(root, ref, files, existing, force)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    generated = write_models(root)
    return Scaffold(
        ref=ref,
        kind=kind,
        descriptor=descriptor_path,
        written=tuple(sorted({*files, *generated})),
    )


def _new_ref(name: str) -> ProductRef:
    ref = parse_product(name)
    if name.count(".") == 2 and ref.major != 1:
        raise ConfigError(
            f"{name}: a new product starts at version 1; a new major version of an existing "
            "product is a new descriptor (<name>.v<N>.yaml) of the same product"
        )
    return ref


def load_all(root: Path) -> list[LoadedProduct]:
    loaded = []
    for path in product_files(root):
        try:
            loaded.append(load_product(path, root=root))
        except DescriptorError:
            continue  # `mesh product lint` reports it; the new product does not depend on it
    return loaded


def _input(name: str, existing: Sequence[LoadedProduct]) -> LoadedProduct:
    wanted = parse_product(name)
    versioned = name.count(".") == 2
    matches = [
        item
        for item in existing
        if item.product.id == wanted.id
        and (
            item.product.version == wanted.major if versioned else item.product.status != "retired"
        )
    ]
    if not matches:
        known = ", ".join(sorted({item.product.id for item in existing})) or "none"
        raise ConfigError(
            f"--from {name}: no such product in products/ (known: {known}); name an existing "
            "product as <domain>.<name> or <domain>.<name>.v<major>"
        )
    return max(matches, key=lambda item: item.product.version)


def _record_name(name: str) -> str:
    """``play_events`` -> ``PlayEvent``: the product name in PascalCase, its last word singular."""
    *words, last = name.split("_")
    if last.endswith("ies") and len(last) > 3:
        last = last[:-3] + "y"
    elif last.endswith("s") and not last.endswith("ss") and len(last) > 1:
        last = last[:-1]
    return pascal_case("_".join([*words, last]))


def namespace_for(domain: str, existing: Sequence[LoadedProduct]) -> str:
    """The namespace the repository's schemas use (``<prefix>.<domain>``), or the domain."""
    prefixes = set()
    for item in existing:
        # The parsed definition carries the full name (``music.player.PlayEvent``).
        namespace = str(item.schema.definition.get("name", "")).rpartition(".")[0]
        prefix, _, last = namespace.rpartition(".")
        if last == item.product.domain:
            prefixes.add(prefix)
    if len(prefixes) == 1:
        (prefix,) = prefixes
        return f"{prefix}.{domain}" if prefix else domain
    return domain


def _tests(
    root: Path,
    ref: ProductRef,
    record: str,
    example: dict[str, Any],
    key: str | None,
    upstream: Sequence[LoadedProduct],
) -> dict[Path, str]:
    """The product's test, in ``tests/products/<domain>/`` (packages when ``tests`` is one)."""
    folder = root / "tests" / "products" / ref.domain
    aggregate = None
    if key is not None:
        aggregate = {
            "key": key,
            "event_time": upstream[0].product.output_port.event_time,
            "window_ms": AGGREGATE_WINDOW_S * 1000,
        }
    files: dict[Path, str] = {}
    if (root / "tests" / "__init__.py").is_file():
        name = f"test_{ref.name}.py"
        for package in (folder.parent, folder):
            if not (package / "__init__.py").exists():
                files[package / "__init__.py"] = ""
    else:
        # Without packages, test modules need names unique across the tree.
        name = f"test_{ref.domain}_{ref.name}.py"
    files[folder / name] = product_test(
        ref,
        record=record,
        example=example,
        depth=3,
        aggregate=aggregate,
        streams_first_party=(root / "streams").is_dir(),
    )
    return files


def _refuse_existing(
    root: Path,
    ref: ProductRef,
    files: dict[Path, str],
    existing: Sequence[LoadedProduct],
    force: bool,
) -> None:
    if force:
        return
    declared = [item.path for item in existing if item.product.id == ref.id]
    taken = sorted(
        {path for path in files if path.exists() and path.name != "__init__.py"} | set(declared)
    )
    if taken:
        shown = ", ".join(path.relative_to(root).as_posix() for path in taken)
        raise ConfigError(
            f"{ref.id}: would overwrite {shown}; nothing was written. Choose another name, "
            "or pass --force to overwrite"
        )


def _yaml(ref: ProductRef, document: dict[str, Any]) -> str:
    header = (
        f"# {ref.id}, written by `mesh product new` with the defaults of governance.yaml.\n"
        "# Review the owner, classification, retention and guarantees, and replace the TODO\n"
        "# texts (`mesh product lint` lists them), then `mesh product apply`.\n"
    )
    body: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=96)
    return header + body


def _subject(fields: list[dict[str, Any]], key: str | None) -> dict[str, str]:
    """``{"pii.subject": key}`` when encrypted fields need a data subject that no single
    pseudonymized field gives and the key can be one (lint explains the other cases)."""
    marks = [field.get("pii") for field in fields]
    if "encrypt" not in marks or marks.count("pseudonymize") == 1 or key is None:
        return {}
    kind = next(field["type"] for field in fields if field["name"] == key)
    base = kind.get("type") if isinstance(kind, dict) else kind
    return {SUBJECT_ATTRIBUTE: key} if base in ("string", "long", "int") else {}
