"""Load descriptors and their value schemas; every problem becomes a ``file:line`` error."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from streams.avro import ParsedSchema, parse_schema
from streams.catalog._model import Product
from streams.catalog._yaml import Location, SourceMap, descriptor_error, read_yaml
from streams.errors import InvalidSchemaError

__all__ = [
    "LoadedProduct",
    "Selection",
    "find_root",
    "load_product",
    "load_products",
    "problems_of",
    "product_files",
    "repository_root",
    "select",
]

_SCHEMA_KEY: Location = ("outputPort", "schema")


@dataclass(frozen=True, slots=True)
class LoadedProduct:
    """A descriptor, where it came from, and its parsed value schema.

    Attributes:
        product: The validated descriptor.
        path: The descriptor file.
        root: The repository root that ``schema`` paths are relative to.
        source: Lines of the descriptor's keys.
        schema: The parsed value schema (an Avro record).
        schema_text: The schema file's text, as it would be registered.
    """

    product: Product
    path: Path
    root: Path
    source: SourceMap
    schema: ParsedSchema
    schema_text: str

    @property
    def schema_path(self) -> Path:
        """The value schema file."""
        return self.root / self.product.output_port.schema_file

    def line_of(self, *location: str | int) -> int:
        """The line of a key such as ``line_of("guarantees", "freshness")``."""
        return self.source.line_of(location)


def find_root(path: Path) -> Path:
    """The repository root of a descriptor: the folder holding ``products/<domain>/<file>``.

    Falls back to the nearest ancestor with a ``schemas`` or ``products`` folder, then to the
    descriptor's own folder (governance then reports the misplaced file).
    """
    path = path.resolve()
    if len(path.parents) > 2 and path.parents[1].name == "products":
        return path.parents[2]
    for parent in path.parents:
        if (parent / "schemas").is_dir() or (parent / "products").is_dir():
            return parent
    return path.parent


def repository_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` that holds ``products/``, if any."""
    path = path.resolve()
    for folder in (path, *path.parents):
        if (folder / "products").is_dir():
            return folder
    return None


@dataclass(frozen=True, slots=True)
class Selection:
    """The descriptors a command's PATH means, and the repository they belong to.

    Attributes:
        path: The PATH given.
        root: The repository root (``schema`` paths are relative to it; the other products
            there are loaded too, so inputs can be checked).
        files: The descriptors selected: the file given, or every ``products/*/*.yaml`` below
            the folder given.
    """

    path: Path
    root: Path
    files: tuple[Path, ...]
    _resolved: frozenset[Path] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_resolved", frozenset(file.resolve() for file in self.files))

    @property
    def whole(self) -> bool:
        """Whether PATH is the repository root itself (everything is selected)."""
        return self.path.resolve() == self.root.resolve()

    def selects(self, path: Path) -> bool:
        """Whether ``path`` is one of the descriptors selected."""
        return path.resolve() in self._resolved


def select(path: Path) -> Selection:
    """The descriptors at ``path``: one descriptor file, or any folder of a repository.

    A folder inside the repository (``products/``, ``products/player``) selects the descriptors
    below it, a folder holding ``products/`` all of them; the root is found upwards, so a
    command works from any folder of the repository. A folder with neither selects nothing.
    """
    if path.is_file():
        return Selection(path=path, root=find_root(path), files=(path,))
    root = repository_root(path)
    if root is None:
        return Selection(path=path, root=path, files=())
    folder = path.resolve()
    files = tuple(file for file in product_files(root) if file.resolve().is_relative_to(folder))
    return Selection(path=path, root=root, files=files)


def product_files(root: Path) -> list[Path]:
    """Every descriptor below ``root``: ``products/*/*.yaml``, sorted."""
    return sorted((root / "products").glob("*/*.yaml"))


def load_products(root: Path) -> list[LoadedProduct]:
    """Load every descriptor below ``root``.

    Raises:
        DescriptorError: The first descriptor that cannot be loaded.
    """
    return [load_product(path, root=root) for path in product_files(root)]


def load_product(path: Path, *, root: Path | None = None) -> LoadedProduct:
    """Load and validate one descriptor and the value schema it names.

    Args:
        path: The descriptor, normally ``<root>/products/<domain>/<name>.yaml``.
        root: The repository root; by default found from ``path`` (see :func:`find_root`).

    Raises:
        DescriptorError: Missing file, malformed YAML, unknown field, wrong type, missing or
            invalid schema file; it names ``file:line`` and the fix.
    """
    root = root if root is not None else find_root(path)
    data, source = read_yaml(path)
    try:
        product = Product.model_validate(data)
    except ValidationError as exc:
        raise descriptor_error(path, problems_of(exc, source, Product)) from None
    schema_text, schema = _load_schema(path, root, product, source)
    return LoadedProduct(
        product=product,
        path=path,
        root=root,
        source=source,
        schema=schema,
        schema_text=schema_text,
    )


def _load_schema(
    path: Path, root: Path, product: Product, source: SourceMap
) -> tuple[str, ParsedSchema]:
    written = product.output_port.schema_file
    line = source.line_of(_SCHEMA_KEY)
    if PurePosixPath(written).is_absolute() or ".." in PurePosixPath(written).parts:
        raise descriptor_error(
            path,
            [
                (
                    line,
                    f"schema {written!r} must be a path inside the repository, relative to its "
                    f"root, e.g. 'schemas/{product.domain}/<Record>.avsc'",
                )
            ],
        )
    schema_path = root / written
    try:
        text = schema_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise descriptor_error(
            path,
            [
                (
                    line,
                    f"value schema file {written!r} does not exist (looked in {root}); create "
                    "it or fix the path in 'outputPort.schema'",
                )
            ],
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise descriptor_error(path, [(line, f"cannot read schema {written!r}: {exc}")]) from exc
    try:
        schema = parse_schema(text)
    except InvalidSchemaError as exc:
        raise descriptor_error(
            path, [(line, f"value schema file {written!r} is not valid Avro: {exc}")]
        ) from exc
    definition = schema.definition
    if not isinstance(definition, dict) or definition.get("type") != "record":
        raise descriptor_error(
            path,
            [
                (
                    line,
                    f"value schema {written!r} must be an Avro record "
                    '({"type": "record", "name": ..., "fields": [...]})',
                )
            ],
        )
    return text, schema


def problems_of(
    exc: ValidationError, source: SourceMap, model: type[BaseModel]
) -> list[tuple[int, str]]:
    """One ``(line, message-with-fix)`` per pydantic error, in the order of the file."""
    problems = [(source.line_of(_where(error)), _message(error, model)) for error in exc.errors()]
    return sorted(problems, key=lambda problem: problem[0])


def _where(error: ErrorDetails) -> tuple[int | str, ...]:
    # A bad or missing tag is reported at the rule, not at its ``rule:`` key; point at the key.
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return (*error["loc"], "rule")
    return error["loc"]


def _message(error: ErrorDetails, model: type[BaseModel]) -> str:
    loc = error["loc"]
    kind = error["type"]
    owner = _model_at(model, loc[:-1])
    key = str(loc[-1]) if loc else ""
    parent = _dotted(loc[:-1], owner_model=model) or "the descriptor"
    if kind == "extra_forbidden":
        if key == "topic":
            return (
                "'topic' cannot be written: the topic is derived from domain, name and version "
                "(<domain>.<name>.v<version>); remove it"
            )
        allowed = _aliases(owner)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listing = f" (known fields: {', '.join(allowed)})" if allowed else ""
        return f"unknown field {key!r} in {parent}; {hint}remove or rename it{listing}"
    if kind == "missing":
        example = _example(owner, key)
        return f"missing field {key!r} in {parent}; add it, e.g. '{key}: {example}'"
    where = _dotted(loc, owner_model=model)
    message = error["msg"].removeprefix("Value error, ")
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        tag = error.get("ctx", {}).get("tag")
        got = f"{tag!r} is not a quality rule; " if tag else "missing 'rule'; "
        return (
            f"{where}.rule: {got}write 'rule: ' and one of: not_null, range, allowed_values, unique"
        )
    if kind in ("value_error", "literal_error"):
        return f"{where}: {message}" + (
            f" (got {error['input']!r})" if kind == "literal_error" else ""
        )
    example = _example(_model_at(model, loc[:-1]), key)
    fix = f"; write e.g. '{key}: {example}'" if example != "..." else ""
    return f"{where}: {message} (got {error['input']!r}){fix}"


def _dotted(loc: Sequence[int | str], *, owner_model: type[BaseModel]) -> str:
    text = ""
    for index, element in enumerate(loc):
        if isinstance(element, int):
            text += f"[{element}]"
        elif _is_tag(owner_model, loc[:index], element):
            continue
        else:
            text += f".{element}" if text else element
    return text


def _is_tag(model: type[BaseModel], loc: Sequence[int | str], element: str) -> bool:
    candidates = _candidates(model, loc)
    return len(candidates) > 1 and element in {_tag(candidate) for candidate in candidates}


def _candidates(model: type[BaseModel], loc: Sequence[int | str]) -> list[type[BaseModel]]:
    """The models a location may be validated against (several for a tagged union)."""
    current: list[type[BaseModel]] = [model]
    for element in loc:
        if isinstance(element, int):
            continue
        if len(current) > 1:
            current = [c for c in current if _tag(c) == element] or current
            continue
        fields = {info.alias or name: info for name, info in current[0].model_fields.items()}
        if element not in fields:
            return []
        current = _models_in(fields[element].annotation)
    return current


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    candidates = _candidates(model, loc)
    return candidates[0] if len(candidates) == 1 else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    # Optional[...], unions, tuple[...] and Annotated[...] all expose their parts as args.
    if get_args(annotation):
        found: list[type[BaseModel]] = []
        for arg in get_args(annotation):
            found.extend(_models_in(arg))
        return found
    return []


def _tag(model: type[BaseModel]) -> str | None:
    info = model.model_fields.get("rule")
    if info is None or get_origin(info.annotation) is not Literal:
        return None
    value = get_args(info.annotation)[0]
    return value if isinstance(value, str) else None


def _aliases(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _example(model: type[BaseModel] | None, key: str) -> str:
    if model is None:
        return "..."
    for name, info in model.model_fields.items():
        if key in (name, info.alias) and info.examples:
            return str(info.examples[0])
    return "..."


def load_path(path: Path) -> list[LoadedProduct]:
    """The products at ``path``: a descriptor, or the descriptors below a folder of a
    repository (see :func:`select`).

    Raises:
        DescriptorError: A descriptor cannot be loaded.
    """
    selection = select(path)
    return [load_product(file, root=selection.root) for file in selection.files]
