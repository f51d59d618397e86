"""Per-event entry points into fastavro, without the per-call set-up of its public API.

``fastavro.schemaless_writer`` re-walks the parsed schema on every call to collect named types,
then copies through a temporary buffer; ``schemaless_reader`` does the same walk and also
deep-compares writer and reader schemas on every call. For a codec that handles one schema
millions of times, that set-up is most of the overhead. fastavro's compiled module exposes the
functions those two call next (``write_data`` and ``_read_data``); we call them with the named
types collected once. They are internal, so they are looked up defensively: when they are
missing or their shape changed, the public functions are used (slower, same bytes): at import,
:func:`_probe` encodes and decodes a small datum through both and keeps the internal ones only
when they agree. ``tests/serialization`` checks both paths agree on a real schema too.

A recursive writer schema is read with fastavro's pure-Python reader instead: the compiled one
recurses in C without a check, so one deeply nested message would crash the process, while the
pure-Python one raises :class:`RecursionError`, which the decoder turns into a dead letter.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import fastavro
from fastavro import _read_py

logger = logging.getLogger(__name__)

__all__ = ["FAST", "make_reader", "make_writer"]

# strict_allow_default: a field the schema lacks, or a missing field without a default, is an
# error (fastavro computes the extra keys of every record anyway, so this costs nothing).
_WRITE_OPTIONS = {"strict": False, "strict_allow_default": True, "disable_tuple_notation": False}
_READ_OPTIONS = {
    "return_record_name": False,
    "return_record_name_override": False,
    "handle_unicode_errors": "strict",
    "return_named_type": False,
    "return_named_type_override": False,
}

_PROBE_SCHEMA = {
    "type": "record",
    "name": "Probe",
    "fields": [
        {"name": "n", "type": "long"},
        {"name": "s", "type": ["null", "string"]},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
        {"name": "a", "type": {"type": "array", "items": "E"}},
    ],
}
_PROBE_DATUM = {"n": -123456789, "s": "probe", "e": "B", "a": ["A", "B"]}


def _probe(write: Callable[..., Any], read: Callable[..., Any]) -> bool:
    """True when ``write``/``read`` (shaped like fastavro's internals) agree with its public API.

    Compares the bytes written, and what each side reads back, on a datum that exercises named
    types, unions and arrays; any exception means no.
    """
    try:
        named: dict[str, Any] = {}
        schema = fastavro.parse_schema(_PROBE_SCHEMA, named_schemas=named)
        expected = io.BytesIO()
        fastavro.schemaless_writer(expected, schema, _PROBE_DATUM)
        buffer = bytearray()
        write(buffer, _PROBE_DATUM, schema, named, "", _WRITE_OPTIONS)
        if bytes(buffer) != expected.getvalue():
            return False
        fast = read(
            io.BytesIO(buffer), schema, {"writer": named, "reader": {}}, None, _READ_OPTIONS
        )
        public = fastavro.schemaless_reader(io.BytesIO(buffer), schema, None)
        return bool(fast == public == _PROBE_DATUM)
    except Exception as exc:
        logger.debug("fastavro's internal entry points failed the probe: %r", exc)
        return False


def _load() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """fastavro's internal per-datum entry points, if present and correct in this version."""
    try:
        from fastavro._read import _read_data as read  # type: ignore[attr-defined]
        from fastavro._write import write_data as write  # type: ignore[attr-defined]
    except ImportError:
        logger.debug("fastavro %s has no internal entry points", fastavro.__version__)
        return None
    if not _probe(write, read):
        logger.debug("fastavro %s: using the public API (slower)", fastavro.__version__)
        return None
    return write, read


_loaded = _load()
FAST = _loaded is not None
if _loaded is not None:
    _fast_write, _fast_read = _loaded


def make_writer(schema: Any, named: dict[str, Any], header: bytes) -> Callable[[Any], bytes]:
    """A function that encodes one datum after ``header`` (the parsed schema and its names)."""
    if FAST:

        def write(datum: Any) -> bytes:
            buffer = bytearray(header)
            _fast_write(buffer, datum, schema, named, "", _WRITE_OPTIONS)
            return bytes(buffer)

        return write

    def write_slow(datum: Any) -> bytes:
        buffer = io.BytesIO()
        buffer.write(header)
        fastavro.schemaless_writer(buffer, schema, datum, strict_allow_default=True)
        return buffer.getvalue()

    return write_slow


def make_reader(
    writer: Any,
    writer_named: dict[str, Any],
    reader: Any | None,
    reader_named: dict[str, Any],
    *,
    recursive: bool = False,
) -> Callable[[io.BytesIO], Any]:
    """A function that decodes one datum from a stream positioned at its first Avro byte.

    ``recursive``: the writer schema is recursive, so a datum may nest without bound; it is then
    read in pure Python (see the module docstring), which raises RecursionError when too deep.
    """
    if recursive:

        def read_py(stream: io.BytesIO) -> Any:
            return _read_py.schemaless_reader(stream, writer, reader)

        return read_py
    if FAST:
        named = {"writer": writer_named, "reader": reader_named}

        def read(stream: io.BytesIO) -> Any:
            return _fast_read(stream, writer, named, reader, _READ_OPTIONS)

        return read

    def read_slow(stream: io.BytesIO) -> Any:
        return fastavro.schemaless_reader(stream, writer, reader)

    return read_slow
