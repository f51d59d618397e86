"""Assembling a generated module: imports, private helper types, classes, in ruff's layout."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from streams.avro import Protection
from streams.codegen._text import LINE_LENGTH, docstring, string_literal, wrapped_literal

__all__ = ["Module", "field_lines"]

# Where each name a generated module may use comes from.
_IMPORTS = {
    "UTC": "datetime",
    "date": "datetime",
    "datetime": "datetime",
    "time": "datetime",
    "Decimal": "decimal",
    "StrEnum": "enum",
    "Annotated": "typing",
    "ClassVar": "typing",
    "UUID": "uuid",
    "AfterValidator": "pydantic",
    "AwareDatetime": "pydantic",
    "BaseModel": "pydantic",
    "ConfigDict": "pydantic",
    "Field": "pydantic",
    "NaiveDatetime": "pydantic",
}
_THIRD_PARTY = frozenset({"pydantic"})


@dataclass(frozen=True)
class _Helper:
    """A private module-level type alias, and the function its validator calls (if any)."""

    alias: str
    needs: tuple[str, ...]
    function: tuple[str, ...] = ()


_MILLIS = "value.microsecond // 1000 * 1000"
_HELPERS = {
    "_Int32": _Helper("Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]", ("Annotated", "Field")),
    "_Int64": _Helper("Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]", ("Annotated", "Field")),
    "_TimestampMillis": _Helper(
        "Annotated[AwareDatetime, AfterValidator(_utc_millis)]",
        ("Annotated", "AfterValidator", "AwareDatetime", "UTC", "datetime"),
        (
            "def _utc_millis(value: datetime) -> datetime:",
            '    """In UTC and to the millisecond, as ``timestamp-millis`` carries it."""',
            f"    return value.astimezone(UTC).replace(microsecond={_MILLIS})",
        ),
    ),
    "_TimestampMicros": _Helper(
        "Annotated[AwareDatetime, AfterValidator(_utc)]",
        ("Annotated", "AfterValidator", "AwareDatetime", "UTC", "datetime"),
        (
            "def _utc(value: datetime) -> datetime:",
            '    """In UTC, as readers decode an Avro timestamp."""',
            "    return value.astimezone(UTC)",
        ),
    ),
    "_LocalTimestampMillis": _Helper(
        "Annotated[NaiveDatetime, AfterValidator(_local_millis)]",
        ("Annotated", "AfterValidator", "NaiveDatetime", "datetime"),
        (
            "def _local_millis(value: datetime) -> datetime:",
            '    """To the millisecond, as ``local-timestamp-millis`` carries it."""',
            f"    return value.replace(microsecond={_MILLIS})",
        ),
    ),
    "_TimeMillis": _Helper(
        "Annotated[time, AfterValidator(_time_millis)]",
        ("Annotated", "AfterValidator", "time"),
        (
            "def _time_millis(value: time) -> time:",
            '    """To the millisecond, as ``time-millis`` carries it."""',
            f"    return value.replace(microsecond={_MILLIS})",
        ),
    ),
}
_BUILTINS = frozenset({"None", "bool", "bytes", "dict", "float", "int", "list", "str"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"(\d+)")


def _member_kind(name: str) -> int:
    """isort's order-by-type: CONSTANTS, then Classes, then everything else."""
    if len(name) > 1 and name.isupper():
        return 0
    return 1 if name[:1].isupper() else 2


def _natural(name: str) -> tuple[int, list[tuple[str, int]]]:
    """RUF022's order for ``__all__``: by type as isort, then naturally and case-sensitively."""
    parts = [(part, -1) if not part.isdigit() else ("", int(part)) for part in _DIGITS.split(name)]
    return _member_kind(name), parts


def _import_key(name: str) -> tuple[int, str, str]:
    return _member_kind(name), name.lower(), name


def _mixed_case(name: str) -> bool:
    """pep8-naming's mixedCase (flagged by N815 in a class body): ``msPlayed``, not ``ms``."""
    stripped = name.lstrip("_")
    return bool(stripped) and stripped[0].islower() and stripped.lower() != stripped


def _cap_words(name: str) -> bool:
    """pep8-naming's CapWords (N801): starts upper case, no underscores."""
    stripped = name.lstrip("_")
    return bool(stripped) and stripped[0].isupper() and "_" not in stripped


def names_in(*texts: str) -> set[str]:
    """Every identifier written in ``texts`` (annotations, default expressions)."""
    return {match for text in texts for match in _IDENTIFIER.findall(text)}


def field_lines(
    *,
    name: str,
    annotation: str,
    default: tuple[str, str] | None,
    doc: str | None,
    pii: Protection | None,
) -> list[str]:
    """The lines (indented for a class body) declaring one model field.

    Args:
        name: The field name.
        annotation: Its type annotation.
        default: ``("default" | "default_factory", expression)``, or ``None`` when required.
        doc: The description, if any.
        pii: The field's protection, marked ``json_schema_extra={"pii": "<protection>"}``.
    """
    noqa = "  # noqa: N815" if _mixed_case(name) else ""
    arguments: list[list[str]] = []
    if default is not None:
        arguments.append([f"{default[0]}={default[1]},"])
    if doc:
        literals = wrapped_literal(doc, LINE_LENGTH - 12)
        if len(literals) == 1 and len(literals[0]) <= LINE_LENGTH - 21:
            arguments.append([f"description={literals[0]},"])
        else:
            arguments.append(["description=(", *(f"    {lit}" for lit in literals), "),"])
    if pii:
        arguments.append([f'json_schema_extra={{"pii": "{pii}"}},'])
    if not arguments:
        return [f"    {name}: {annotation}{noqa}"]
    # Always exploded: the trailing comma keeps ruff from joining the lines, whatever they hold.
    lines = [f"    {name}: {annotation} = Field({noqa}"]
    lines.extend(f"        {line}" for argument in arguments for line in argument)
    lines.append("    )")
    return lines


@dataclass
class Module:
    """A generated module under construction: classes in definition order plus what they use."""

    reserved_names: frozenset[str] = frozenset(_IMPORTS) | frozenset(_HELPERS) | _BUILTINS
    _used: set[str] = field(default_factory=set)
    _classes: list[list[str]] = field(default_factory=list)
    _exported: list[str] = field(default_factory=list)
    _rebuild: list[str] = field(default_factory=list)

    def use(self, name: str) -> str:
        """Record that the module uses ``name`` (an import or helper type) and return it."""
        self._used.add(name)
        helper = _HELPERS.get(name)
        if helper is not None:
            self._used.update(helper.needs)
        return name

    def add_enum(self, *, name: str, doc: str, symbols: list[str]) -> None:
        """Add a ``StrEnum`` whose members are the Avro symbols, in schema order."""
        self.use("StrEnum")
        lines = [f"class {name}(StrEnum):{'' if _cap_words(name) else '  # noqa: N801'}"]
        lines += [f"    {line}" if line else "" for line in docstring(doc, 4)]
        if symbols:
            lines.append("")
        for symbol in symbols:
            noqa = "  # noqa: N815" if _mixed_case(symbol) else ""
            lines.append(f"    {symbol} = {string_literal(symbol)}{noqa}")
        self._classes.append(lines)
        self._exported.append(name)

    def add_record(
        self,
        *,
        name: str,
        full: str,
        doc: str,
        fields: list[list[str]],
        protect_nothing: bool,
        rebuild: bool,
    ) -> None:
        """Add a frozen pydantic model.

        Args:
            name: The class name.
            full: The record's Avro full name, kept in ``__avro_schema__``.
            doc: The class docstring.
            fields: Each field's lines, from :func:`field_lines`.
            protect_nothing: A field starts with ``model_``: turn off pydantic's protected
                namespaces, which older pydantic versions warn about.
            rebuild: A field refers to a class defined later, so call ``model_rebuild()``.
        """
        for used in ("BaseModel", "ConfigDict", "ClassVar"):
            self.use(used)
        if fields:
            self.use("Field")
        config = 'extra="forbid", frozen=True'
        if protect_nothing:
            config += ", protected_namespaces=()"
        lines = [f"class {name}(BaseModel):{'' if _cap_words(name) else '  # noqa: N801'}"]
        lines += [f"    {line}" if line else "" for line in docstring(doc, 4)]
        lines += [
            "",
            f"    model_config = ConfigDict({config})",
            f"    __avro_schema__: ClassVar[str] = {string_literal(full)}",
        ]
        if fields:
            lines.append("")
        for field_source in fields:
            lines.extend(field_source)
        self._classes.append(lines)
        self._exported.append(name)
        if rebuild:
            self._rebuild.append(name)

    def render(self, *, header: str | None, doc: str) -> str:
        """The module's source text."""
        used_helpers = sorted(name for name in self._used if name in _HELPERS)
        imports = sorted(name for name in self._used if name in _IMPORTS)
        head = ([f"# {header}"] if header else []) + docstring(doc, 0)
        sections: list[tuple[int, list[str]]] = [(0, head), (1, self._imports(imports))]
        sections.append((1, self._all()))
        functions = [_HELPERS[name].function for name in used_helpers if _HELPERS[name].function]
        sections += [(2, list(function)) for function in sorted(functions)]
        if used_helpers:
            sections.append((2, [f"{name} = {_HELPERS[name].alias}" for name in used_helpers]))
        sections += [(2, lines) for lines in self._classes]
        if self._rebuild:
            sections.append((2, [f"{name}.model_rebuild()" for name in self._rebuild]))
        out: list[str] = []
        for blank, lines in sections:
            if out:
                out.extend([""] * blank)
            out.extend(lines)
        return "\n".join(out) + "\n"

    def _imports(self, names: list[str]) -> list[str]:
        modules: dict[str, list[str]] = {}
        for name in names:
            modules.setdefault(_IMPORTS[name], []).append(name)
        stdlib = sorted(module for module in modules if module not in _THIRD_PARTY)
        third = sorted(module for module in modules if module in _THIRD_PARTY)
        lines: list[str] = []
        for group in (stdlib, third):
            if lines and group:
                lines.append("")
            for module in group:
                members = sorted(modules[module], key=_import_key)
                line = f"from {module} import {', '.join(members)}"
                if len(line) <= LINE_LENGTH:
                    lines.append(line)
                else:
                    lines += [f"from {module} import (", *(f"    {m}," for m in members), ")"]
        return lines

    def _all(self) -> list[str]:
        names = sorted(self._exported, key=_natural)
        return ["__all__ = [", *(f"    {string_literal(name)}," for name in names), "]"]
