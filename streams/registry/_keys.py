"""The DEK Registry's keys (Confluent client-side field encryption), kept in the registry's log.

Two record types share the ``_schemas`` log with the schemas, so keys are replayed, followed by
secondaries and written by the single writer exactly like schemas:

- ``{"keytype":"KEK","name":N,"magic":0}`` → a key-encryption key: ``name``, ``kmsType``,
  ``kmsKeyId``, ``kmsProps``, ``doc``, ``shared``, ``ts``, ``deleted``; null deletes it for good.
- ``{"keytype":"DEK","kekName":K,"subject":S,"version":V,"algorithm":A,"magic":0}`` → a data key
  wrapped by its KEK: ``kekName``, ``subject``, ``version``, ``algorithm``,
  ``encryptedKeyMaterial`` (base64), ``ts``, ``deleted``; null deletes it for good.

The registry never sees a key in the clear: producers wrap data keys with their KMS and store
only ``encryptedKeyMaterial`` (a ``shared`` KEK, whose data keys Confluent's registry would make
with the KMS itself, is stored but cannot have data keys generated here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["ALGORITHMS", "KeyState", "dek_key", "kek_key"]

ALGORITHMS = ("AES128_GCM", "AES256_GCM", "AES256_SIV")

DekId = tuple[str, str, str]  # kek name, subject, algorithm


def kek_key(name: str) -> bytes:
    """The log key of a KEK."""
    return orjson.dumps({"keytype": "KEK", "name": name, "magic": 0})


def dek_key(kek: str, subject: str, version: int, algorithm: str) -> bytes:
    """The log key of one version of a DEK."""
    return orjson.dumps(
        {
            "keytype": "DEK",
            "kekName": kek,
            "subject": subject,
            "version": version,
            "algorithm": algorithm,
            "magic": 0,
        }
    )


@dataclass(slots=True)
class KeyState:
    """KEKs by name and DEK versions by (KEK, subject, algorithm); changed only by :meth:`apply`."""

    keks: dict[str, dict[str, Any]] = field(default_factory=dict)
    deks: dict[DekId, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def apply(self, key: dict[str, Any], value: dict[str, Any] | None) -> str | None:
        """Apply one KEK or DEK record; return why it was skipped, or None."""
        if key.get("keytype") == "KEK":
            name = key.get("name")
            if not isinstance(name, str):
                return "a KEK key needs a string 'name'"
            if value is None:
                self.keks.pop(name, None)
            elif value.get("name") != name or not isinstance(value.get("kmsKeyId"), str):
                return "a KEK value needs the key's 'name' and a string 'kmsKeyId'"
            else:
                self.keks[name] = value
            return None
        kek, subject = key.get("kekName"), key.get("subject")
        version, algorithm = key.get("version"), key.get("algorithm")
        if not (isinstance(kek, str) and isinstance(subject, str)) or algorithm not in ALGORITHMS:
            return "a DEK key needs string 'kekName' and 'subject' and a known 'algorithm'"
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            return "a DEK key needs an integer 'version' from 1"
        versions = self.deks.setdefault((kek, subject, algorithm), {})
        if value is None:
            versions.pop(version, None)
            if not versions:
                del self.deks[(kek, subject, algorithm)]
        elif (value.get("kekName"), value.get("subject"), value.get("version")) != (
            kek,
            subject,
            version,
        ):
            return "a DEK value names another key than its log key"
        else:
            versions[version] = value
        return None

    def kek(self, name: str, *, deleted: bool = False) -> dict[str, Any] | None:
        """A KEK (a soft-deleted one only when ``deleted``)."""
        found = self.keks.get(name)
        return found if found is not None and (deleted or not found.get("deleted")) else None

    def dek_versions(
        self, kek: str, subject: str, algorithm: str, *, deleted: bool = False
    ) -> list[dict[str, Any]]:
        """A DEK's versions in order (soft-deleted ones only when ``deleted``)."""
        versions = self.deks.get((kek, subject, algorithm), {})
        found = [versions[v] for v in sorted(versions)]
        return [d for d in found if deleted or not d.get("deleted")]

    def dek(
        self, kek: str, subject: str, algorithm: str, version: int, *, deleted: bool = False
    ) -> dict[str, Any] | None:
        """One DEK version; ``-1`` is the latest."""
        versions = self.dek_versions(kek, subject, algorithm, deleted=deleted)
        if version == -1:
            return versions[-1] if versions else None
        return next((d for d in versions if d["version"] == version), None)

    def deks_of(self, kek: str, *, deleted: bool = False) -> list[dict[str, Any]]:
        """Every DEK version under a KEK."""
        return [
            d
            for (name, _, _), versions in sorted(self.deks.items())
            if name == kek
            for d in versions.values()
            if deleted or not d.get("deleted")
        ]
