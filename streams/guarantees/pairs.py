"""The (key, window) pairs of one window of an aggregate, and their counts over a span.

:mod:`streams.guarantees.windows` keeps one :class:`Live` per window it checks: per 64-bit key
hash, the input events minus the copies routed to ``.late``, the keys emitted final, and a few
key names; :func:`summed` turns windows into a :class:`~streams.guarantees.summary.Windows`.
Hash sets are checkpointed as little-endian arrays in base64, as the duplicate sets are.
"""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any

from streams.guarantees.summary import Missing, Windows

__all__ = ["MAX_EXAMPLES", "Live", "merged", "summed"]

MAX_EXAMPLES = 5
"""Missing pairs and window starts named per span."""


class Live:
    """One window's pairs: input events minus late copies per key hash, finals, names."""

    __slots__ = ("counts", "due_ms", "emitted", "late", "names")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.emitted: set[int] = set()
        self.names: dict[int, str] = {}
        self.late = 0
        self.due_ms: int | None = None  # wall-clock ms from which it is due

    def expected(self) -> list[int]:
        return [h for h, n in self.counts.items() if n > 0]

    def to_json(self) -> list[Any]:
        keys = sorted(self.counts)
        return [
            self.due_ms,
            self.late,
            _pack("Q", keys),
            _pack("q", [self.counts[k] for k in keys]),
            _pack("Q", sorted(self.emitted)),
            sorted([h, name] for h, name in self.names.items()),
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> Live:
        live = cls()
        live.due_ms, live.late = data[0], data[1]
        live.counts = dict(zip(_unpack("Q", data[2]), _unpack("q", data[3]), strict=True))
        live.emitted = set(_unpack("Q", data[4]))
        live.names = {int(h): str(name) for h, name in data[5]}
        return live


def _pack(code: str, values: list[int]) -> str:
    packed = array(code, values)
    if sys.byteorder == "big":  # pragma: no cover - the checkpoint is little-endian
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def _unpack(code: str, text: str) -> list[int]:
    packed = array(code)
    packed.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":  # pragma: no cover
        packed.byteswap()
    return packed.tolist()


def summed(items: list[tuple[int, Live]]) -> Windows:
    """The counts of ``items`` (window start, pairs), in window-start order."""
    expected = emitted = late = 0
    missing: list[Missing] = []
    for start, live in items:
        late += live.late
        for hashed in live.expected():
            expected += 1
            if hashed in live.emitted:
                emitted += 1
            elif len(missing) < MAX_EXAMPLES:
                missing.append(
                    Missing(key=live.names.get(hashed), key_hash=hashed, window_start_ms=start)
                )
    starts = tuple(sorted((start for start, _ in items), reverse=True)[:MAX_EXAMPLES])
    return Windows(
        expected=expected,
        emitted=emitted,
        windows=len(items),
        late=late,
        window_starts=starts,
        missing=tuple(missing),
    )


def merged(first: Windows | None, second: Windows) -> Windows:
    if first is None:
        return second
    return Windows(
        expected=first.expected + second.expected,
        emitted=first.emitted + second.emitted,
        windows=first.windows + second.windows,
        late=first.late + second.late,
        window_starts=tuple(
            sorted({*first.window_starts, *second.window_starts}, reverse=True)[:MAX_EXAMPLES]
        ),
        missing=(*first.missing, *second.missing)[:MAX_EXAMPLES],
    )
