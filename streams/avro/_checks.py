"""The leaf checks of :mod:`streams.avro.validate`: one small closure per primitive type.

Each check does its cheapest test first (an exact class and a range), which is what nearly
every valid value passes, and only then the slower ``isinstance`` tests of subclasses,
``numbers.Integral``, datetimes and decimals.
"""

from __future__ import annotations

import datetime
import decimal
import math
import numbers
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "DAYS",
    "INT",
    "LONG",
    "MICROS",
    "MILLIS",
    "TIME_MICROS",
    "TIME_MILLIS",
    "Check",
    "InvalidValueError",
    "boolean",
    "bytes_",
    "check_decimal",
    "check_unscaled",
    "floating",
    "integer",
    "is_sequence",
    "null",
    "string",
    "temporal",
    "timestamp",
]

Check = Callable[[Any], None]

INT = (-(2**31), 2**31 - 1)
LONG = (-(2**63), 2**63 - 1)
# What Python's datetime, date and time (hence fastavro's reader) can hold: years 1 to 9999 and
# one day. Avro allows more, but no Python consumer could read such a value back.
MILLIS = (-62_135_596_800_000, 253_402_300_799_999)
MICROS = (MILLIS[0] * 1000, MILLIS[1] * 1000 + 999)
DAYS = (-719_162, 2_932_896)
TIME_MILLIS = (0, 86_399_999)
TIME_MICROS = (0, 86_399_999_999)
_FLOAT_MAX = 3.4028234663852886e38
_NAIVE = (
    "a naive datetime has no time zone and would be encoded in this machine's local time; "
    "pass an aware datetime in UTC, e.g. datetime.now(timezone.utc)"
)
_AWARE = "a local timestamp holds wall-clock time; pass a naive datetime"


class InvalidValueError(Exception):
    """A value does not fit; ``path`` collects the steps (innermost first) while unwinding.

    The codec turns it into a :class:`~streams.errors.SerializationError`; it does not leave
    the library.
    """

    def __init__(self, expected: str, value: Any, hint: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value
        self.hint = hint
        self.path: list[str] = []

    def where(self) -> str:
        """The dotted path, ``inner.n``, ``tags[1]`` or ``(root)``."""
        text = ""
        for step in reversed(self.path):
            text += step if step.startswith("[") or not text else f".{step}"
        return text or "(root)"


def _integral(value: Any, expected: str, low: int, high: int) -> None:
    """The slow path of an int/long check: int subclasses and ``numbers.Integral``, in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidValueError(expected, value)
    if not low <= int(value) <= high:
        raise InvalidValueError(expected, value, f"out of range for {expected} ({low} to {high})")


def is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def null(expected: str) -> Check:
    def null(value: Any) -> None:
        if value is not None:
            raise InvalidValueError(expected, value)

    return null


def boolean(expected: str) -> Check:
    def boolean(value: Any) -> None:
        if value is not True and value is not False:
            raise InvalidValueError(expected, value)

    return boolean


def integer(expected: str, low: int, high: int) -> Check:
    def integer(value: Any) -> None:
        if value.__class__ is not int or not low <= value <= high:
            _integral(value, expected, low, high)

    return integer


def timestamp(expected: str, low: int, high: int, *, aware: bool) -> Check:
    def timestamp(value: Any) -> None:
        if value.__class__ is int and low <= value <= high:
            return
        if isinstance(value, datetime.datetime):
            if (value.utcoffset() is not None) is not aware:
                raise InvalidValueError(expected, value, _NAIVE if aware else _AWARE)
            if aware:
                _in_utc_range(value, expected)
            return
        _integral(value, expected, low, high)

    return timestamp


def _in_utc_range(value: datetime.datetime, expected: str) -> None:
    """An aware datetime must stay within years 1 to 9999 once in UTC (readers convert to UTC)."""
    offset = value.utcoffset()
    if offset is None or not offset:
        return
    try:
        value.astimezone(datetime.UTC)
    except OverflowError:
        raise InvalidValueError(
            expected,
            value,
            "outside years 1 to 9999 once converted to UTC, so no reader could read it back; "
            "pass a datetime within that range in UTC",
        ) from None


def temporal(expected: str, low: int, high: int, kind: type, hint: str) -> Check:
    def temporal(value: Any) -> None:
        if value.__class__ is int and low <= value <= high:
            return
        if isinstance(value, kind):
            # A datetime is a date, but fastavro would drop its time; an aware time its zone.
            if isinstance(value, datetime.datetime) or getattr(value, "tzinfo", None) is not None:
                raise InvalidValueError(expected, value, hint)
            return
        _integral(value, expected, low, high)

    return temporal


def floating(expected: str, *, single: bool) -> Check:
    limit = _FLOAT_MAX if single else math.inf

    def floating(value: Any) -> None:
        cls = value.__class__
        if cls is float and -limit <= value <= limit:
            return
        if cls is bool or not isinstance(value, int | float):
            raise InvalidValueError(expected, value)
        try:
            number = float(value)
        except OverflowError:
            raise InvalidValueError(
                expected, value, f"too large for a {'32' if single else '64'}-bit float"
            ) from None
        if math.isfinite(number) and abs(number) > limit:
            raise InvalidValueError(
                expected, value, f"out of range for a 32-bit float (±{_FLOAT_MAX:g})"
            )

    return floating


def string(expected: str, *, uuid_ok: bool) -> Check:
    def string(value: Any) -> None:
        if value.__class__ is str and value.isascii():
            return
        if not isinstance(value, str):
            if uuid_ok and isinstance(value, uuid.UUID):
                return
            raise InvalidValueError(expected, value)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidValueError(
                expected,
                value,
                f"not encodable as UTF-8 ({exc.reason} at index {exc.start}, e.g. a lone "
                "surrogate from a bad decode); fix the text where it was read",
            ) from None

    return string


def bytes_(expected: str, decimal_node: Any) -> Check:
    def bytes_(value: Any) -> None:
        if decimal_node is not None and isinstance(value, decimal.Decimal):
            check_decimal(value, decimal_node, expected)
        elif not isinstance(value, bytes | bytearray | memoryview):
            raise InvalidValueError(expected, value)
        elif decimal_node is not None:
            check_unscaled(value, decimal_node, expected)

    return bytes_


def check_unscaled(
    value: bytes | bytearray | memoryview, node: Mapping[str, Any], expected: str
) -> None:
    """Raw bytes in a decimal field: their unscaled value must fit the precision (readers round)."""
    precision = node.get("precision", 0)
    if abs(int.from_bytes(value, "big", signed=True)) >= 10**precision:
        raise InvalidValueError(
            expected, value, f"the unscaled value has more than {precision} digits; pass a Decimal"
        )


def check_decimal(value: decimal.Decimal, node: Mapping[str, Any], expected: str) -> None:
    precision, scale = node.get("precision", 0), node.get("scale", 0)
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise InvalidValueError(expected, value, "NaN and infinity have no Avro decimal form")
    if -exponent > scale:
        raise InvalidValueError(
            expected, value, f"more than {scale} digits after the point; round it"
        )
    if len(digits) + exponent > precision - scale:
        raise InvalidValueError(
            expected, value, f"more than {precision - scale} digits before the point"
        )
