"""Pseudonyms: keyed HMAC-SHA256 with the mesh's pseudonym key, deterministic everywhere.

Every producer of the mesh uses the same pseudonym key, so a ``user_id`` pseudonymized by the
player domain equals the one the listeners domain writes: derived products still group and join
by it. A pseudonym keeps its field's Avro type family:

- a string becomes ``"ps1:" + base64url(first 16 bytes of the HMAC)`` (26 characters);
- a string with ``logicalType: uuid`` becomes a UUID (version 8, RFC 9562's custom version)
  whose first two bytes are ``ps``, so it stays a valid uuid for every reader and model;
- an int becomes a non-negative 31-bit integer, a long a non-negative 63-bit one.

Pseudonymizing a pseudonym (``ps1:`` strings, ``ps`` version-8 UUIDs) returns it unchanged, so a
derived product that re-emits its input's ``user_id`` keeps the same value. Integers carry no
such mark: they are pseudonymized once, by the source-aligned producer.

The data subject of a record is named, in data-key ids, by a *subject tag*: a hash of its
pseudonym, so ``mesh forget --subject RAW`` finds the keys of every product from the raw id.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from collections.abc import Callable
from typing import Literal

from streams.pii._lru import Lru

__all__ = ["PSEUDONYM_PREFIX", "Family", "Pseudonymizer"]

PSEUDONYM_PREFIX = "ps1:"
_UUID_MARK = b"ps"
_UUID_MARK_HEX = _UUID_MARK.hex()
_MASK = {"int": (1 << 31) - 1, "long": (1 << 63) - 1}

Family = Literal["string", "uuid", "int", "long"]
"""The type family of a pseudonymized value (a uuid is a string with ``logicalType: uuid``)."""


class Pseudonymizer:
    """Deterministic pseudonyms under one key, with a bounded cache of recent answers.

    Args:
        key: The mesh's pseudonym key (32 random bytes, the same for every producer).
        cache_size: How many recent pseudonyms to keep per type family.
    """

    def __init__(self, key: bytes, *, cache_size: int = 65_536) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonym key must be at least 32 random bytes")
        # HMAC-SHA256 (RFC 2104) from the two precomputed padded-key states: 1.8 us a value
        # against 5.7 us for hmac.new(...).copy() and 3.7 us for hmac.digest (scripts/bench
        # events, protection on; tests/pii/test_pseudonym.py checks it equals hmac.digest).
        padded = (key if len(key) <= 64 else hashlib.sha256(key).digest()).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._caches: dict[str, Lru[object, object]] = {
            name: Lru(cache_size) for name in ("string", "uuid", "int", "long", "tag")
        }

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under the pseudonym key."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def _digest(self, domain: bytes, text: str) -> bytes:
        return self.mac(domain + text.encode())

    def string(self, value: str) -> str:
        """The pseudonym of a string: ``ps1:`` and 22 base64url characters."""
        return self._cached("string", value, self._string)  # type: ignore[return-value]

    def _string(self, value: object) -> str:
        text = str(value)
        if text.startswith(PSEUDONYM_PREFIX):
            return text
        digest = self._digest(b"string\x00", text)[:16]
        return PSEUDONYM_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def uuid(self, value: str) -> str:
        """The pseudonym of a uuid string: a version-8 UUID starting with the bytes ``ps``."""
        return self._cached("uuid", value, self._uuid)  # type: ignore[return-value]

    def _uuid(self, value: object) -> str:
        text = str(value).lower()
        # A pseudonym already (version 8, first bytes "ps"): checked on the canonical text, as
        # parsing with uuid.UUID costs more than the HMAC.
        if len(text) == 36 and text.startswith(_UUID_MARK_HEX) and text[14] == "8":
            return text
        raw = bytearray(_UUID_MARK + self._digest(b"uuid\x00", text)[:14])
        raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def integer(self, value: int, family: Literal["int", "long"]) -> int:
        """The pseudonym of an int (31 bits) or a long (63 bits), non-negative."""
        cache = self._caches[family]
        found = cache.get(value)
        if found is None:
            digest = self._digest(f"{family}\x00".encode(), str(value))
            found = int.from_bytes(digest[:8], "big") & _MASK[family]
            cache.put(value, found)
        return found  # type: ignore[return-value]

    def of(self, value: str | int, family: Family) -> str | int:
        """The pseudonym of ``value`` in ``family``."""
        if family == "string":
            return self.string(str(value))
        if family == "uuid":
            return self.uuid(str(value))
        return self.integer(int(value), family)

    def subject_tag(self, pseudonym: str | int) -> str:
        """The tag naming a data subject in key ids (22 base64url characters)."""
        return self._cached("tag", pseudonym, self._tag)  # type: ignore[return-value]

    def _tag(self, pseudonym: object) -> str:
        # Unkeyed: the pseudonym is keyed already, and public in the records; a second HMAC
        # cost 2 us a new subject (scripts/bench events, ListenerRegistered).
        digest = hashlib.sha256(b"subject\x00" + str(pseudonym).encode()).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def subject_tags(self, subject: str) -> set[str]:
        """Every tag ``subject`` (a raw id, as ``mesh forget --subject`` gets it) can have: as a
        string, and also as a uuid or an integer when it reads as one."""
        forms: list[str | int] = [self.string(subject)]
        with contextlib.suppress(ValueError):
            forms.append(self.uuid(str(uuid.UUID(subject))))
        try:
            number = int(subject)
        except ValueError:
            pass
        else:
            forms += [self.integer(number, "int"), self.integer(number, "long")]
        return {self.subject_tag(form) for form in forms}

    def _cached(self, family: str, value: object, compute: Callable[[object], object]) -> object:
        cache = self._caches[family]
        found = cache.get(value)
        if found is None:
            found = compute(value)
            cache.put(value, found)
        return found
