"""A bounded least-recently-used map for the client-side caches (pseudonyms, data keys)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["Lru"]

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small least-recently-used map (``functools.lru_cache`` cannot be sized per instance
    without a closure per method)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        data = self._data
        found = data.get(key)
        if found is not None:
            data.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        data = self._data
        data[key] = value
        if len(data) > self._size:
            data.popitem(last=False)

    def pop(self, key: K) -> None:
        self._data.pop(key, None)

    def names(self) -> list[K]:
        """The keys, least recently used first (a copy)."""
        return list(self._data)
