"""Policies on derived products' code: it loads, and it agrees with its descriptor and inputs.

A derived product's code (``products/<domain>/<name>.py``) sits next to its descriptor; the
policies here run in ``mesh product lint`` next to :mod:`streams.governance`'s and report the
same way (``file:line RULE message``):

- ``GOV016-derived-code``: the module loads and defines the descriptor's product and version;
- ``GOV017-derived-inputs``: the code's ``inputs`` are the descriptor's ``inputPorts`` and the
  inputs are co-partitioned (same partition count);
- ``GOV018-derived-fields``: ``key`` and ``event_time`` exist in every input's schema, the
  event time as a ``timestamp-millis``;
- ``GOV019-derived-window``: session windows need an aggregation with ``merge``.

An ``aggregate`` descriptor with ``inputPorts`` and no code is a ``GOV016`` error: nothing would
compute it. Other descriptors with no ``.py`` next to them are not checked here (a
consumer-aligned product may be derived outside this platform), nor is a further version's
descriptor (``<name>.v2.yaml``), whose code is the product's one ``<name>.py``.

The checks live in ``agents`` because loading the code needs it, and
governance sits below agents.
"""

from __future__ import annotations

import ast
import traceback
from pathlib import Path

from streams.agents.definition import DerivedProduct, Session, definition_path, load_definition
from streams.avro import FieldInfo, ParsedSchema, iter_fields
from streams.catalog import LoadedProduct, find_root, load_product, product_files, show_path
from streams.errors import ConfigError, DescriptorError
from streams.governance import GovernanceConfig, PolicyContext, Violation

__all__ = ["CODE_RULES", "check_code", "code_path", "lint_code"]

CODE_RULES = (
    "GOV016-derived-code",
    "GOV017-derived-inputs",
    "GOV018-derived-fields",
    "GOV019-derived-window",
)
"""The rule ids of this module."""


def code_path(loaded: LoadedProduct) -> Path:
    """The code next to a descriptor: ``<name>.py`` for ``<name>.yaml``."""
    return loaded.path.with_suffix(".py")


def lint_code(path: Path) -> list[Violation]:
    """The violations of the derived products' code under a root, or of one descriptor's code.

    Args:
        path: A repository root, or one descriptor (``.yaml``) or its code (``.py``).
    """
    if path.is_file() and path.suffix == ".py":
        path = path.with_suffix(".yaml")
    single = path.resolve() if path.is_file() else None
    root = find_root(path) if single is not None else path
    loaded: list[LoadedProduct] = []
    for file in product_files(root):
        try:
            loaded.append(load_product(file, root=root))
        except DescriptorError:
            continue  # governance reports it (GOV000-descriptor)
    context = PolicyContext.build(loaded, config=GovernanceConfig(), root=root)
    found = [
        item
        for product in loaded
        if single is None or product.path.resolve() == single
        for item in check_code(product, context)
    ]
    return sorted(found, key=lambda v: (v.path or "", v.line or 0, v.rule_id, v.message))


def check_code(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """Every code policy on one product (nothing when it has no code next to it)."""
    path = code_path(loaded)
    if not path.is_file():
        return _missing_code(loaded)
    lines = _keyword_lines(path)
    try:
        definition = load_definition(path)
    except ConfigError as exc:
        return [
            _at(
                path,
                _failure_line(exc, path),
                "GOV016-derived-code",
                str(exc).removeprefix(f"{path}: "),
                "fix the module so it imports and binds 'product = DerivedProduct(...)'",
            )
        ]
    found: list[Violation] = []
    product = loaded.product
    want = f"{product.domain}.{product.name}"
    if definition.product != want or definition.version != product.version:
        found.append(
            _at(
                path,
                lines.get("product", 1),
                "GOV016-derived-code",
                f"the code defines {definition.product} v{definition.version}, the descriptor "
                f"{want} v{product.version}",
                f"set product={want!r} and version={product.version} in the code",
            )
        )
    found += _check_inputs(loaded, definition, context, path, lines)
    found += _check_fields(definition, context, path, lines)
    if isinstance(definition.window, Session) and not definition.merges:
        found.append(
            _at(
                path,
                lines.get("window", 1),
                "GOV019-derived-window",
                f"session windows merge, but {type(definition.aggregation).__name__} has no "
                "merge(a, b) method",
                "add merge(a, b) returning one accumulator that counts both, or use "
                "Tumbling/Hopping windows",
            )
        )
    return found


def _check_inputs(
    loaded: LoadedProduct,
    definition: DerivedProduct,
    context: PolicyContext,
    path: Path,
    lines: dict[str, int],
) -> list[Violation]:
    declared = {port.ref for port in loaded.product.input_ports}
    coded = {port.ref for port in definition.inputs}
    found: list[Violation] = []
    if declared != coded:
        only_code = ", ".join(sorted(ref.topic for ref in coded - declared)) or "none"
        only_yaml = ", ".join(sorted(ref.topic for ref in declared - coded)) or "none"
        found.append(
            _at(
                loaded.path,
                loaded.line_of("inputPorts"),
                "GOV017-derived-inputs",
                f"inputPorts and the code's inputs ({show_path(path)}) disagree: only in the "
                f"code: {only_code}; only in the descriptor: {only_yaml}",
                "list the same products and versions in 'inputPorts:' and in inputs=(...)",
            )
        )
    counts = {
        ref.topic: context.products[ref].product.output_port.partitions
        for ref in coded
        if ref in context.products
    }
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{topic}: {n}" for topic, n in sorted(counts.items()))
        found.append(
            _at(
                path,
                lines.get("inputs", 1),
                "GOV017-derived-inputs",
                f"the inputs are not co-partitioned ({shown}): a task reads one partition "
                "number of every input",
                "give every input the same partitions (and the same key), or derive the "
                "product from a re-keyed copy of the odd one",
            )
        )
    return found


def _check_fields(
    definition: DerivedProduct, context: PolicyContext, path: Path, lines: dict[str, int]
) -> list[Violation]:
    found: list[Violation] = []
    for port in definition.inputs:
        source = context.products.get(port.ref)
        if source is None:
            continue  # an unknown input is GOV012-inputs' to report
        where = show_path(source.schema_path)
        for what, name in (("key", definition.key), ("event_time", definition.event_time)):
            info = _top_field(source.schema, name)
            if info is None:
                found.append(
                    _at(
                        path,
                        lines.get(what, 1),
                        "GOV018-derived-fields",
                        f"{what} {name!r} is not a field of {port.ref.topic} ({where})",
                        f"name a top-level field that every input has, or add {name!r} to "
                        "each input's schema",
                    )
                )
            elif what == "event_time" and not _is_timestamp(info):
                found.append(
                    _at(
                        path,
                        lines.get(what, 1),
                        "GOV018-derived-fields",
                        f"event_time {name!r} of {port.ref.topic} is {info.value_type!r}, not a "
                        "timestamp-millis",
                        "point event_time at a 'long' field with logicalType timestamp-millis",
                    )
                )
    return found


def _top_field(schema: ParsedSchema, name: str) -> FieldInfo | None:
    return next((info for info in iter_fields(schema, nested=False) if info.name == name), None)


def _is_timestamp(info: FieldInfo) -> bool:
    kind = info.value_type
    return isinstance(kind, dict) and kind.get("logicalType") == "timestamp-millis"


def _missing_code(loaded: LoadedProduct) -> list[Violation]:
    """An aggregate with inputs but no code: nothing could compute it.

    A further major version's descriptor (``<name>.v2.yaml``) shares ``<name>.py``, which is
    checked against ``<name>.yaml``. Other kinds may be derived outside this platform.
    """
    product = loaded.product
    shared = definition_path(loaded.root, product.ref)
    if shared.is_file() or product.kind != "aggregate" or not product.input_ports:
        return []
    inputs = ", ".join(f"InputPort({p.product!r}, {p.version})" for p in product.input_ports)
    return [
        _at(
            loaded.path,
            loaded.line_of("kind"),
            "GOV016-derived-code",
            f"{product.domain}.{product.name} v{product.version} is an aggregate of "
            f"{', '.join(p.ref.topic for p in product.input_ports)} but has no code: "
            f"create {show_path(shared)}, which the agents (mesh agent run) and replays run",
            f"define 'product = DerivedProduct(product={product.domain + '.' + product.name!r}, "
            f"version={product.version}, inputs=({inputs},), key=..., window=..., "
            "allowed_lateness=..., aggregation=...)' there; see the example "
            "products/player/hourly_play_sessions.py (README, 'Derived products'); a product "
            "computed outside this platform is kind consumer-aligned",
        )
    ]


def _at(path: Path, line: int, rule_id: str, message: str, hint: str) -> Violation:
    return Violation(
        rule_id=rule_id,
        severity="error",
        path=show_path(path),
        line=line,
        message=message,
        hint=hint,
    )


def _keyword_lines(path: Path) -> dict[str, int]:
    """The line of each keyword argument of the module's ``DerivedProduct(...)`` call."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DerivedProduct":
            return {kw.arg: kw.value.lineno for kw in node.keywords if kw.arg is not None}
    return {}


def _failure_line(exc: ConfigError, path: Path) -> int:
    """Where in ``path`` loading failed: a syntax error's line, or the deepest frame there."""
    cause = exc.__cause__
    if isinstance(cause, SyntaxError) and cause.lineno is not None:
        return cause.lineno
    if cause is None:
        return 1
    target = str(path.resolve())
    frames = [
        frame.lineno
        for frame in traceback.extract_tb(cause.__traceback__)
        if str(Path(frame.filename).resolve()) == target and frame.lineno is not None
    ]
    return frames[-1] if frames else 1
