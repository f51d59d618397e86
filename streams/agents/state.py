"""Accumulators and checkpoints as bytes: plain data, tagged where JSON has no type for it.

An accumulator is plain data: ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``,
``dict`` (any of these as keys), ``tuple``, ``set`` and ``frozenset``. :func:`dump` turns one
into a JSON-ready tree (a deep copy, so a snapshot does not change when the live accumulator
does) and :func:`load` turns it back. JSON lacks some of these types, so they are tagged as a
one-key object whose key starts with ``$``::

    set       {"$set": [...]}          tuple      {"$tuple": [...]}
    frozenset {"$frozenset": [...]}    dict       {"$dict": [[key, value], ...]}
    float     {"$float": "nan"}        int        {"$int": "123..."} (beyond 64 bits)

(a dict is tagged only when a key is not a string or starts with ``$``; non-finite floats and
huge ints only when JSON cannot hold them). Anything else is refused with a
:class:`~streams.errors.StateError` naming the product, key and window, at the snapshot that
met it. :func:`encode_state` / :func:`decode_state` wrap a whole checkpoint tree in one
compressed record (orjson + zlib).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams.errors import StateError

__all__ = [
    "FORMAT",
    "Checkpoint",
    "WindowState",
    "decode_checkpoint",
    "decode_state",
    "dump",
    "encode_checkpoint",
    "encode_state",
    "load",
    "show_window",
]

FORMAT = 1
"""Version of the encoding, stored in every record; a reader refuses versions it does not know."""

_INT64 = 2**63
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCALARS = (str, bool, type(None))


def dump(value: Any, *, product: str, key: str, window: tuple[int, int]) -> Any:
    """A JSON-ready deep copy of an accumulator.

    Raises:
        StateError: ``value`` holds something that is not plain data.
    """
    try:
        return _dump(value)
    except _RefusedError as exc:
        shown = show_window(*window)
        raise StateError(
            f"{product}: the accumulator of key {key!r}, window {shown} holds "
            f"{exc.args[0]}, which cannot be checkpointed; keep accumulators to None, bool, "
            "int, float, str, list, tuple, dict, set and frozenset",
            product=product,
            key=key,
            window=shown,
        ) from None


def show_window(start_ms: int, end_ms: int) -> str:
    """``[start, end)`` in ISO 8601 UTC, for messages."""

    def iso(ms: int) -> str:
        return (_EPOCH + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")

    return f"[{iso(start_ms)}, {iso(end_ms)})"


class _RefusedError(Exception):
    pass


# The checkpoint of every batch dumps every open window's accumulator (measured with
# `scripts/bench agents`): strings and 64-bit ints, most of what accumulators hold, are copied
# inline in the container loops below instead of through a call of _dump each.


def _items(values: Iterable[Any]) -> list[Any]:
    return [
        item
        if (kind := type(item)) is str or (kind is int and -_INT64 <= item < _INT64)
        else _dump(item)
        for item in values
    ]


def _dump(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is int:
        return value if -_INT64 <= value < _INT64 else {"$int": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is list:
        return _items(value)
    if kind is dict:
        for k in value:
            if type(k) is not str or k.startswith("$"):
                return {"$dict": [[_dump(k), _dump(v)] for k, v in value.items()]}
        return dict(zip(value, _items(value.values()), strict=True))
    if kind is set:
        return {"$set": _items(value)}
    if kind is frozenset:
        return {"$frozenset": _items(value)}
    if kind is tuple:
        return {"$tuple": _items(value)}
    raise _RefusedError(f"a {kind.__module__}.{kind.__qualname__} ({value!r:.60})")


def load(tree: Any) -> Any:
    """The accumulator :func:`dump` made ``tree`` from (fresh objects, safe to mutate)."""
    kind = type(tree)
    if kind is list:
        return [load(item) for item in tree]
    if kind is not dict:
        return tree
    if len(tree) == 1:
        ((tag, body),) = tree.items()
        if tag == "$set":
            return {load(item) for item in body}
        if tag == "$frozenset":
            return frozenset(load(item) for item in body)
        if tag == "$tuple":
            return tuple(load(item) for item in body)
        if tag == "$dict":
            return {load(k): load(v) for k, v in body}
        if tag == "$float":
            return float(body)
        if tag == "$int":
            return int(body)
    return {k: load(v) for k, v in tree.items()}


def encode_state(tree: Any) -> bytes:
    """One compressed record holding ``tree`` (already JSON-ready, e.g. from :func:`dump`)."""
    return zlib.compress(orjson.dumps({"format": FORMAT, "state": tree}), 1)


def decode_state(data: bytes, *, source: str) -> Any:
    """The tree :func:`encode_state` wrote.

    Args:
        data: The record's bytes.
        source: Where it came from (topic, partition, offset), named in errors.

    Raises:
        StateError: The record is corrupt or of a format this version does not read.
    """
    try:
        envelope = orjson.loads(zlib.decompress(data))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise StateError(
            f"the checkpoint at {source} is corrupt ({exc}); delete it to recompute the "
            "product from its inputs' retained history",
            product=None,
            key=None,
            window=None,
        ) from exc
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        found = envelope.get("format") if isinstance(envelope, dict) else None
        raise StateError(
            f"the checkpoint at {source} has format {found!r}, this version reads format "
            f"{FORMAT}; run the version of streams that wrote it, or delete it to recompute",
            product=None,
            key=None,
            window=None,
        )
    return envelope["state"]


@dataclass(frozen=True, slots=True)
class WindowState:
    """One open window of a task: its key, bounds and accumulator (as :func:`dump` made it)."""

    key: str
    start_ms: int
    end_ms: int
    acc: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A task's whole state and the input offsets it reflects: written as one record.

    Attributes:
        product: ``<domain>.<name>.v<major>`` of the output, checked on restore.
        task: The task number (the input partition number).
        offsets: The next offset to read per input ``(topic, partition)`` (only partitions
            that had records).
        watermarks: The highest event time seen per input ``(topic, partition)``.
        watermark: The task's watermark (never decreases).
        windows: The open windows.
        counters: Events, late events, updates and finals so far.
        quiet: Wall-clock seconds since each input partition's last record (or since the
            task started), so a partition idle before a restore stays idle after it.
    """

    product: str
    task: int
    offsets: dict[tuple[str, int], int]
    watermarks: dict[tuple[str, int], int]
    watermark: int
    windows: tuple[WindowState, ...]
    counters: dict[str, int] = field(default_factory=dict)
    quiet: dict[tuple[str, int], float] = field(default_factory=dict)


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    """One compressed record holding ``checkpoint``."""
    return encode_state(
        {
            "product": checkpoint.product,
            "task": checkpoint.task,
            "offsets": [[t, p, o] for (t, p), o in checkpoint.offsets.items()],
            "watermarks": [[t, p, m] for (t, p), m in checkpoint.watermarks.items()],
            "watermark": checkpoint.watermark,
            "windows": [[w.key, w.start_ms, w.end_ms, w.acc] for w in checkpoint.windows],
            "counters": checkpoint.counters,
            "quiet": [[t, p, q] for (t, p), q in checkpoint.quiet.items()],
        }
    )


def decode_checkpoint(data: bytes, *, source: str) -> Checkpoint:
    """The checkpoint :func:`encode_checkpoint` wrote (``source`` is named in errors).

    Raises:
        StateError: The record is corrupt, of another format, or not a checkpoint.
    """
    tree = decode_state(data, source=source)
    try:
        return Checkpoint(
            product=str(tree["product"]),
            task=int(tree["task"]),
            offsets={(str(t), int(p)): int(o) for t, p, o in tree["offsets"]},
            watermarks={(str(t), int(p)): int(m) for t, p, m in tree["watermarks"]},
            watermark=int(tree["watermark"]),
            windows=tuple(
                WindowState(str(k), int(s), int(e), acc) for k, s, e, acc in tree["windows"]
            ),
            counters={str(k): int(v) for k, v in tree["counters"].items()},
            quiet={(str(t), int(p)): float(q) for t, p, q in tree["quiet"]},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateError(
            f"the record at {source} is not a checkpoint ({type(exc).__name__}: {exc}); "
            "delete it to recompute the product from its inputs' retained history",
            product=None,
            key=None,
            window=None,
        ) from exc
