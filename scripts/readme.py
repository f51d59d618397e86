"""Write the README's generated references from the models, so they cannot drift.

    .venv/bin/python scripts/readme.py          # rewrite them in README.md
    .venv/bin/python scripts/readme.py --check  # exit 1 when README.md differs (tests do this)

Two parts of README.md sit between markers and come from code: the descriptor reference from
:class:`streams.catalog.Product` (every field, its type, default and description) and the
settings reference from :class:`streams.config.Settings`. Text outside the markers is left as
it is. A field without a ``description`` is an error naming it: document it in the model.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from streams.catalog import Product
from streams.catalog._duration import parse_duration, parse_retention
from streams.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
SECTIONS = ("descriptor reference", "settings reference")


class UndocumentedError(Exception):
    """A model field has no description to put in the README."""


def begin_marker(section: str) -> str:
    return f"<!-- BEGIN GENERATED {section} (scripts/readme.py; do not edit by hand) -->"


def end_marker(section: str) -> str:
    return f"<!-- END GENERATED {section} -->"


def _validators(field: FieldInfo) -> set[object]:
    return {getattr(meta, "func", None) for meta in field.metadata}


def _literals(annotation: object) -> str:
    return " \\| ".join(f"`{value}`" for value in typing.get_args(annotation))


def _duration(validators: set[object]) -> str | None:
    if parse_duration in validators:
        return "duration (`30s`, `5m`, `1h`, `7d`, `2w`)"
    if parse_retention in validators:
        return "duration or `infinite`"
    return None


def _type(annotation: object, field: FieldInfo | None = None) -> str:
    """A reader's name for a field's type."""
    named = None if field is None else _duration(_validators(field))
    if named is not None:
        return named
    origin = typing.get_origin(annotation)
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if origin is Literal:
        return _literals(annotation)
    if origin in (Union, types.UnionType):
        if len(args) == 1:
            return _type(args[0])
        if all(isinstance(arg, type) and issubclass(arg, BaseModel) for arg in args):
            return "rule"
        return " or ".join(_type(arg) for arg in args)
    if origin is typing.Annotated:
        metadata = {getattr(meta, "func", None) for meta in annotation.__metadata__}  # type: ignore[attr-defined]
        return _duration(metadata) or _type(args[0])
    if origin in (tuple, list):
        inner = _type(args[0])
        return "list of rules (below)" if inner == "rule" else f"list of {inner}"
    if origin is dict:
        return "map"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "object"
        if issubclass(annotation, SecretStr):
            return "secret"
        if issubclass(annotation, Path):
            return "path"
        names = {str: "string", int: "integer", float: "number", bool: "boolean"}
        if annotation in names:
            return names[annotation]
        return annotation.__name__.replace("date", "date (`YYYY-MM-DD`)")
    return str(annotation)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value: Any = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if value in ((), [], {}):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _plain(text: str) -> str:
    """A docstring's first paragraph as Markdown: one line, single backticks, no roles."""
    text = " ".join(text.strip().split("\n\n")[0].split())
    return re.sub(r":\w+:`([^`]+)`", r"`\1`", text).replace("``", "`")


def _describe(where: str, field: FieldInfo) -> str:
    text = field.description
    if not text:
        annotation = _inner(field.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            text = _plain(annotation.__doc__ or "")
    if not text:
        raise UndocumentedError(
            f"{where} has no description: add Field(description=...) to it in the model"
        )
    text = " ".join(text.split())
    if field.examples:
        text += " E.g. " + ", ".join(f"`{example}`" for example in field.examples) + "."
    return _escape(text)


def _escape(text: str) -> str:
    """Markdown table text: pipes escaped, and ``<...>`` outside code spans kept as text."""
    parts = text.replace("|", "\\|").split("`")
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _inner(annotation: object) -> object:
    """The model inside ``X | None`` or ``tuple[X, ...]``, else the annotation itself."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (Union, types.UnionType, tuple) and len(args) >= 1:
        return args[0] if len(args) == 1 or args[-1] is Ellipsis else annotation
    return annotation


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        rows.append(
            f"| `{key}` | {_type(field.annotation, field)} | {_default(field)} | "
            f"{_describe(key, field)} |"
        )
        inner = _inner(field.annotation)
        many = typing.get_origin(field.annotation) is tuple
        child = f"{key}[]." if many else f"{key}."
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            rows += _rows(inner, child)
        elif typing.get_origin(inner) is typing.Annotated:
            for variant in typing.get_args(typing.get_args(inner)[0]):
                rows += _variant_rows(variant, child)
    return rows


def _variant_rows(variant: type[BaseModel], prefix: str) -> list[str]:
    """A rule of a discriminated union: its tag, then its other fields."""
    rows = []
    for name, field in variant.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        if typing.get_origin(field.annotation) is Literal:
            doc = _plain(variant.__doc__ or "")
            if not doc:
                raise UndocumentedError(f"{variant.__name__} has no docstring")
            rows.append(f"| `{key}: {typing.get_args(field.annotation)[0]}` | rule | | {doc} |")
        elif name in ("field", "description"):
            continue  # common to every rule: listed once, after the rules
        else:
            rows.append(
                f"| `{key}` | {_type(field.annotation, field)} | {_default(field)} | "
                f"{_describe(key, field)} |"
            )
    return rows


def _common_rule_rows(prefix: str) -> list[str]:
    from streams.catalog import NotNullRule

    rows = []
    for name in ("field", "description"):
        field = NotNullRule.model_fields[name]
        key = f"{prefix}{name}"
        rows.append(
            f"| `{key}` | {_type(field.annotation, field)} | {_default(field)} | "
            f"every rule: {_describe(key, field)} |"
        )
    return rows


HEADER = ["| Field | Type | Default | Description |", "|---|---|---|---|"]


def descriptor_reference() -> str:
    """The descriptor's fields, as a Markdown table, from :class:`streams.catalog.Product`."""
    rows = _rows(Product, "")
    return "\n".join([*HEADER, *rows, *_common_rule_rows("quality[].")]) + "\n"


def settings_reference() -> str:
    """Every setting with its environment variable, from :class:`streams.config.Settings`."""
    lines = []
    for section, field in Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        lines += [
            f"**`{section}`**: {_escape(_plain(model.__doc__ or ''))}",
            "",
            "| Setting | Environment variable | Type | Default | Description |",
            "|---|---|---|---|---|",
        ]
        for name, inner in model.model_fields.items():
            key = f"{section}.{name}"
            variable = f"STREAMS_{section.upper()}__{name.upper()}"
            lines.append(
                f"| `{key}` | `{variable}` | {_type(inner.annotation, inner)} | "
                f"{_default(inner)} | {_describe(key, inner)} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


GENERATORS = {
    "descriptor reference": descriptor_reference,
    "settings reference": settings_reference,
}


def render(text: str) -> str:
    """``text`` (README.md) with every generated section written anew between its markers.

    Raises:
        ValueError: A marker is missing or out of order.
    """
    for section in SECTIONS:
        begin, end = begin_marker(section), end_marker(section)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError(f"README.md needs exactly one {begin!r} and one {end!r} line")
        head, _, rest = text.partition(begin + "\n")
        _, found, tail = rest.partition(end)
        if not found:
            raise ValueError(f"README.md: {end!r} must come after {begin!r}")
        text = f"{head}{begin}\n{GENERATORS[section]()}{end}{tail}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md differs")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    try:
        wanted = render(current)
    except (ValueError, UndocumentedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if wanted == current:
        print("README.md: generated references are up to date", file=sys.stderr)
        return 0
    if args.check:
        print(
            "README.md: the generated references differ from the models; run "
            "`.venv/bin/python scripts/readme.py` and commit the result",
            file=sys.stderr,
        )
        return 1
    README.write_text(wanted, encoding="utf-8")
    print("README.md: generated references rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
