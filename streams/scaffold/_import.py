"""``mesh product import``: a team's existing ODCS data contract as a product of the mesh.

:func:`streams.catalog.import_odcs` reads what the contract says; here what it leaves out is
filled with the defaults ``mesh product new`` uses (the policy's partitions, retention,
compatibility and classification, the domain's owner, the usual guarantees), each choice a note,
and the schema and descriptor are written where lint and apply look for them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from streams.catalog import (
    CLASSIFICATIONS,
    ImportedContract,
    LoadedProduct,
    Product,
    format_duration,
    import_odcs,
)
from streams.codegen import write as write_models
from streams.errors import ContractError
from streams.governance import GovernanceConfig, load_governance
from streams.naming import ProductRef, schema_file
from streams.scaffold._descriptor import _compatibility, _partitions, _retention
from streams.scaffold._new import load_all, namespace_for

__all__ = ["Imported", "import_contract"]

_GUARANTEES = {
    "freshness": "1h",
    "latency": "1m",
    "completeness": 0.99,
    "maxDuplicateShare": 0.01,
    "availability": 0.99,
}
"""What ``mesh product new`` promises for a source-aligned product."""


@dataclass(frozen=True, slots=True)
class Imported:
    """What :func:`import_contract` wrote.

    Attributes:
        ref: The product.
        descriptor: ``products/<domain>/<name>.yaml``.
        schema: ``schemas/<domain>/<Record>.avsc``.
        written: Every file written, the generated models included, sorted.
        notes: What the contract did not say and was chosen, or said and was left out.
    """

    ref: ProductRef
    descriptor: Path
    schema: Path
    written: tuple[Path, ...]
    notes: tuple[str, ...]


def import_contract(
    root: Path,
    contract_file: Path,
    *,
    domain: str | None = None,
    name: str | None = None,
    object_name: str | None = None,
    force: bool = False,
) -> Imported:
    """Write the product the ODCS contract in ``contract_file`` describes under ``root``.

    Raises:
        ContractError: The file is not a valid ODCS contract, or describes no usable product;
            the message names the JSON path and the fix. Nothing is written then.
        ConfigError: Files of the product exist (and ``force`` is off).
    """
    contract = _read(contract_file)
    existing = load_all(root)
    imported = import_odcs(
        contract, source=str(contract_file), domain=domain, name=name, object_name=object_name
    )
    ref = imported.ref
    schema = imported.schema
    if schema.get("namespace") == ref.domain:
        schema["namespace"] = namespace_for(ref.domain, existing)
    notes = list(imported.notes)
    document = _complete(imported, load_governance(root), existing, notes)
    try:
        product = Product.model_validate(document)
    except ValidationError as exc:
        found = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ContractError(
            f"{contract_file}: the contract does not make a valid descriptor: {found[0]}; fix "
            "the contract's value (its customProperties hold the descriptor's keys)",
            source=str(contract_file),
            problems=found,
        ) from exc
    schema_path = schema_file(root, ref.domain, imported.record)
    descriptor_path = root / "products" / ref.domain / f"{ref.name}.yaml"
    if ref.major > 1:
        descriptor_path = descriptor_path.with_name(f"{ref.name}.v{ref.major}.yaml")
    taken = [path for path in (schema_path, descriptor_path) if path.exists()]
    if taken and not force:
        shown = ", ".join(path.relative_to(root).as_posix() for path in taken)
        raise ContractError(
            f"{contract_file}: would overwrite {shown}; nothing was written. Pass --domain/--name "
            "for another product, or --force to overwrite",
            source=str(contract_file),
        )
    ordered = product.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if "quality" in ordered:
        ordered["quality"] = [_as_written(rule) for rule in ordered["quality"]]
    header = (
        f"# {ref.id}, imported from {contract_file.name} by `mesh product import`.\n"
        "# Review what the contract did not say (the notes it printed), replace any TODO text,\n"
        "# then `mesh product lint` and `mesh product apply`.\n"
    )
    body = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=96)
    schema_path.parent.mkdir(parents=True, exist_ok=True)
    schema_path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")
    descriptor_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor_path.write_text(header + body, encoding="utf-8")
    generated = write_models(root)
    return Imported(
        ref=ref,
        descriptor=descriptor_path,
        schema=schema_path,
        written=tuple(sorted({schema_path, descriptor_path, *generated})),
        notes=tuple(notes),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:  # JSON is YAML too
        raise ContractError(
            f"{path} is not YAML or JSON: {exc}; fix the syntax at the line shown",
            source=str(path),
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path} cannot be read: {exc}", source=str(path)) from exc
    if not isinstance(document, dict):
        raise ContractError(
            f"{path} holds no ODCS contract (a mapping with apiVersion, kind: DataContract, id, "
            "version and status)",
            source=str(path),
        )
    return document


def _as_written(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as people write them: ``rule`` first, ``min: 0`` rather than ``0.0``."""
    written = {"rule": rule["rule"], "field": rule["field"]}
    for key, value in rule.items():
        whole = isinstance(value, float) and value.is_integer()
        written.setdefault(key, int(value) if whole else value)
    return written


def _complete(
    imported: ImportedContract,
    config: GovernanceConfig,
    existing: Sequence[LoadedProduct],
    notes: list[str],
) -> dict[str, Any]:
    """The descriptor with the mesh's defaults where the contract said nothing."""
    document = imported.descriptor
    ref = imported.ref
    if "owner" not in document:
        owners = Counter(
            item.product.owner
            for item in existing
            if item.product.domain == ref.domain and item.product.owner is not None
        )
        if owners:
            owner = owners.most_common(1)[0][0]
            document["owner"] = owner.model_dump(mode="json")
            notes.append(f"owner: the domain's team, {owner.contact}")
    floor = config.personal_data_classification if imported.personal else "internal"
    chosen = document.get("classification")
    if chosen is None or CLASSIFICATIONS.index(chosen) < CLASSIFICATIONS.index(floor):
        document["classification"] = floor
        why = "its fields are personal" if imported.personal else "the contract names none"
        notes.append(f"classification: {floor} ({why})")
    port = document["outputPort"]
    aggregate = document["kind"] == "aggregate"
    defaults = {
        "partitions": _partitions(config, []),
        "retention": format_duration(_retention(config, imported.personal)),
        "compatibility": _compatibility(config, aggregate),
    }
    for key, value in defaults.items():
        if key not in port:
            port[key] = value
            notes.append(f"outputPort.{key}: {value} (the policy's default)")
    promised = document.setdefault("guarantees", {})
    for key, value in _GUARANTEES.items():
        if key not in promised:
            promised[key] = value
            notes.append(f"guarantees.{key}: {value} (the default of `mesh product new`)")
    return document
