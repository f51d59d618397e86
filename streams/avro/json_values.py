"""JSON values as the Python values the codec takes, guided by the schema (pure, no I/O).

JSON has no timestamps, dates, decimals or bytes, so a JSON line written by a person or printed
by ``mesh tail`` holds them as text or numbers. :func:`from_json` turns, where the schema says
so:

- ``timestamp-millis`` / ``timestamp-micros``: an ISO 8601 time with a zone
  (``2026-01-01T12:00:00.123Z``, ``…+02:00``) into an aware datetime; epoch numbers stay as
  they are (the codec takes them);
- ``local-timestamp-*``: an ISO 8601 time without a zone into a naive datetime;
- ``date`` and ``time-*``: ISO 8601 dates and times;
- ``decimal``: a decimal number written as text (``"12.30"``) into a ``Decimal``;
- ``bytes`` and ``fixed``: text into its Latin-1 bytes (what ``mesh tail`` prints bytes as).

Anything else, and text that does not parse (a time without a zone for a ``timestamp-*``), is
left as it is, so the validator's error names the field, the type it expects and the value.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Mapping
from typing import Any

from streams.avro._names import PRIMITIVES
from streams.avro.schema import ParsedSchema

__all__ = ["from_json"]


class _NoFitError(Exception):
    """The value is not one this type converts (a union then tries its next branch)."""


def from_json(value: Any, schema: ParsedSchema) -> Any:
    """``value`` (as ``json.loads`` gave it) with the JSON forms above converted."""
    return _Converter(schema.named).convert(schema.definition, value)


def _aware(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise _NoFitError  # ambiguous: which zone? the validator's error names the field
    return moment


def _naive(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        raise _NoFitError
    return moment


def _decimal(text: str) -> decimal.Decimal:
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise _NoFitError from None
    if not number.is_finite():
        raise _NoFitError
    return number


def _latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise _NoFitError from None


_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "timestamp-millis": _aware,
    "timestamp-micros": _aware,
    "local-timestamp-millis": _naive,
    "local-timestamp-micros": _naive,
    "date": datetime.date.fromisoformat,
    "time-millis": datetime.time.fromisoformat,
    "time-micros": datetime.time.fromisoformat,
    "decimal": _decimal,
}
# Types a JSON string already is: a union holding one keeps the text as it is.
_TEXT_TYPES = frozenset({"string", "enum"})


class _Converter:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self._named = named

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, str) and node not in PRIMITIVES:
            return self._named.get(node, node)
        return node

    def convert(self, node: Any, value: Any) -> Any:
        try:
            return self._convert(node, value)
        except _NoFitError:
            return value

    def _convert(self, node: Any, value: Any) -> Any:
        node = self._resolve(node)
        if isinstance(node, list):
            return self._union(node, value)
        kind = node if isinstance(node, str) else node.get("type")
        if kind in ("record", "error"):
            if not isinstance(value, dict):
                raise _NoFitError
            fields = {field["name"]: field["type"] for field in node["fields"]}
            return {
                name: self.convert(fields[name], item) if name in fields else item
                for name, item in value.items()
            }
        if kind == "array":
            if not isinstance(value, list):
                raise _NoFitError
            return [self.convert(node["items"], item) for item in value]
        if kind == "map":
            if not isinstance(value, dict):
                raise _NoFitError
            return {key: self.convert(node["values"], item) for key, item in value.items()}
        if not isinstance(value, str):
            return value
        logical = node.get("logicalType") if isinstance(node, dict) else None
        parse = _FROM_TEXT.get(logical) if isinstance(logical, str) else None
        if parse is not None and kind not in _TEXT_TYPES:
            try:
                return parse(value)
            except ValueError:
                raise _NoFitError from None
        if kind in ("bytes", "fixed"):
            return _latin1(value)
        return value

    def _union(self, branches: list[Any], value: Any) -> Any:
        resolved = [self._resolve(branch) for branch in branches]
        if isinstance(value, str) and any(_kind(branch) in _TEXT_TYPES for branch in resolved):
            return value  # text fits a string branch as it is
        for branch in resolved:
            if _kind(branch) == "null":
                continue
            try:
                converted = self._convert(branch, value)
            except _NoFitError:
                continue
            if converted is not value or not isinstance(value, str | dict | list):
                return converted
        raise _NoFitError


def _kind(node: Any) -> Any:
    return node if isinstance(node, str) else node.get("type")
