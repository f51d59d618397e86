"""Run every policy over a set of products: the one list of policies lives here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streams.catalog import LoadedProduct, load_product, product_files, select, show_path
from streams.errors import DescriptorError
from streams.governance._config import GovernanceConfig, load_governance
from streams.governance._context import Policy, PolicyContext
from streams.governance._paths import with_display_paths
from streams.governance._pii_rules import check_pii_protection
from streams.governance._placeholders import check_placeholders
from streams.governance._product_rules import (
    check_classification,
    check_duplicates,
    check_lifecycle,
    check_location,
    check_naming,
    check_partitions,
    check_required,
    check_retention,
)
from streams.governance._schema_rules import (
    check_compatibility,
    check_field_docs,
    check_fields_exist,
    check_inputs,
    check_kind_inputs,
    check_logical_types,
    check_pii,
    check_schema_location,
)
from streams.governance._violation import Violation

__all__ = ["DESCRIPTOR_RULE", "POLICIES", "check", "lint"]

DESCRIPTOR_RULE = "GOV000-descriptor"
"""The rule id of a file that cannot be loaded at all."""

POLICIES: tuple[Policy, ...] = (
    check_required,
    check_naming,
    check_location,
    check_schema_location,
    check_field_docs,
    check_pii,
    check_classification,
    check_partitions,
    check_retention,
    check_compatibility,
    check_kind_inputs,
    check_inputs,
    check_fields_exist,
    check_lifecycle,
    check_duplicates,
    check_logical_types,
    check_placeholders,
    check_pii_protection,
)
"""Every policy, in the order their rule ids are numbered."""


def check(
    products: Sequence[LoadedProduct],
    *,
    config: GovernanceConfig,
    root: Path,
    policies: Sequence[Policy] = POLICIES,
) -> list[Violation]:
    """Run ``policies`` over loaded products (pure: no I/O).

    Args:
        products: Every product of the mesh (inputs are looked up among them).
        config: The thresholds.
        root: The repository root, for placement rules.
        policies: The policies to run; all of them by default.
    """
    context = PolicyContext.build(products, config=config, root=root)
    found = [item for loaded in products for policy in policies for item in policy(loaded, context)]
    return _sorted(found)


def lint(path: Path, *, config: GovernanceConfig | None = None) -> list[Violation]:
    """Every violation of the descriptors at ``path``: a repository, any folder inside one
    (``products/``, ``products/player``), or one descriptor file.

    Files that cannot be loaded become ``GOV000-descriptor`` violations with their ``file:line``
    instead of stopping the run. The repository's other products are loaded too (so inputs can
    be checked), but only the descriptors selected by ``path`` are reported. Paths are shown
    as :func:`~streams.governance.display_path` says (relative to the working directory inside
    the repository, else to its root).

    Args:
        path: A repository root (with ``products/`` and ``schemas/``), a folder inside it, or
            one descriptor file (see :func:`streams.catalog.select`).
        config: Thresholds; by default read from ``<root>/governance.yaml``.
    """
    selection = select(path)
    root = selection.root
    found: list[Violation] = []
    if config is None:
        try:
            config = load_governance(root)
        except DescriptorError as exc:
            found += _from_error(exc)
            config = GovernanceConfig()
    files = product_files(root)
    # A descriptor outside products/<domain>/ is still checked (GOV003 says where it belongs).
    files += [file for file in selection.files if file.resolve() not in _resolved(files)]
    if not selection.files:
        found.append(
            Violation(
                rule_id=DESCRIPTOR_RULE,
                severity="warning",
                path=show_path(path),
                line=None,
                message="no product descriptors found",
                hint="add products/<domain>/<name>.yaml, or point lint at the repository root, "
                "a folder below products/ or a descriptor",
            )
        )
    loaded: list[LoadedProduct] = []
    for file in files:
        try:
            loaded.append(load_product(file, root=root))
        except DescriptorError as exc:
            if selection.selects(file):
                found += _from_error(exc)
    context = PolicyContext.build(loaded, config=config, root=root)
    for product in loaded:
        if selection.selects(product.path):
            found += [item for policy in POLICIES for item in policy(product, context)]
    return _sorted(with_display_paths(found, root=root))


def _resolved(files: Sequence[Path]) -> set[Path]:
    return {file.resolve() for file in files}


def _from_error(exc: DescriptorError) -> list[Violation]:
    return [
        Violation(
            rule_id=DESCRIPTOR_RULE,
            severity="error",
            path=exc.path,
            line=line,
            message=message,
            hint="fix the file so it loads; the message says how",
        )
        for line, message in exc.problems
    ]


def _sorted(found: list[Violation]) -> list[Violation]:
    return sorted(found, key=lambda v: (v.path or "", v.line or 0, v.rule_id, v.message))
