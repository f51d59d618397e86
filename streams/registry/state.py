"""The registry's state, rebuilt by applying the records of the ``_schemas`` log in order.

The log uses Confluent Schema Registry's record format (JSON keys and values), so every change is
one compactable record keyed by what it changes:

- ``{"keytype":"SCHEMA","subject":S,"version":V,"magic":1}`` → the version (``deleted`` marks a soft
  delete; ``metadata`` and ``ruleSet`` are the data contract); a null value (tombstone) is a
  permanent delete.
- ``{"keytype":"CONFIG","subject":S|null,"magic":0}`` → ``{"compatibilityLevel":…}``; null clears.
- ``{"keytype":"MODE","subject":S|null,"magic":0}`` → ``{"mode":…}``; null clears.
- ``KEK`` and ``DEK`` records: the DEK Registry's keys (:mod:`~streams.registry._keys`).

State is only changed through :meth:`RegistryState.apply`, which the start-up replay, the tail of
records written by others and the write path all use, so what a running registry holds is exactly
what a restarted one rebuilds.

Any Kafka client can write to the topic, so :meth:`RegistryState.apply` checks every record and
skips one it cannot use (not JSON, wrong shape, an id outside ``1..2^31-1``, an id that already
belongs to another schema), returning why; the caller logs that with the record's offset. Because
the check is part of replay, every registry that reads the same log skips the same records: the
first schema to take an id keeps it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import orjson

from streams.registry._keys import KeyState

__all__ = [
    "MAX_ID",
    "RegistryState",
    "SchemaRecord",
    "config_key",
    "identity_of",
    "mode_key",
    "schema_key",
]

# Confluent ids are Java ints, framed in 4 signed bytes after the magic byte.
MAX_ID = 2**31 - 1

Metadata = dict[str, Any]
Reference = dict[str, Any]
RuleSet = dict[str, Any]


@dataclass(slots=True)
class SchemaRecord:
    """One version of one subject."""

    subject: str
    version: int
    id: int
    schema: str
    references: list[Reference] = field(default_factory=list)
    metadata: Metadata | None = None
    deleted: bool = False
    rule_set: RuleSet | None = None

    def to_value(self) -> bytes:
        """The record value as stored in the log."""
        value: dict[str, Any] = {
            "subject": self.subject,
            "version": self.version,
            "id": self.id,
            "schema": self.schema,
            "deleted": self.deleted,
        }
        if self.references:
            value["references"] = self.references
        if self.metadata is not None:
            value["metadata"] = self.metadata
        if self.rule_set is not None:
            value["ruleSet"] = self.rule_set
        return orjson.dumps(value)

    @property
    def identity(self) -> str:
        """What makes two registrations the same schema (and so the same id)."""
        return identity_of(self.schema, self.references, self.metadata, self.rule_set)


def identity_of(
    schema: str,
    references: list[Reference],
    metadata: Metadata | None,
    rule_set: RuleSet | None = None,
) -> str:
    """A stable key for schema text + references + metadata + rule set.

    Confluent's schema hash covers all four, so the same text with another rule set is another
    schema (a new id and version). Without a rule set the key is what it was before rule sets
    were stored, so ids and guids of existing logs do not change.
    """
    parts: list[Any] = [schema, references, metadata]
    if rule_set is not None:
        parts.append(rule_set)
    return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS).decode()


def schema_key(subject: str, version: int) -> bytes:
    """The log key of one subject version."""
    return orjson.dumps({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1})


def config_key(subject: str | None) -> bytes:
    """The log key of the global (``None``) or a subject's compatibility config."""
    return orjson.dumps({"keytype": "CONFIG", "subject": subject, "magic": 0})


def mode_key(subject: str | None) -> bytes:
    """The log key of the global (``None``) or a subject's mode."""
    return orjson.dumps({"keytype": "MODE", "subject": subject, "magic": 0})


@dataclass(slots=True)
class _SchemaEntry:
    """What an id resolves to, plus which versions hold it."""

    id: int
    schema: str
    references: list[Reference]
    metadata: Metadata | None
    guid: str
    identity: str
    rule_set: RuleSet | None = None
    holders: set[tuple[str, int]] = field(default_factory=set)


class RegistryState:
    """Subjects, versions, ids, configs and modes; changed only by :meth:`apply`."""

    def __init__(self) -> None:
        self.subjects: dict[str, dict[int, SchemaRecord]] = {}
        self.schemas: dict[int, _SchemaEntry] = {}
        self.ids_by_identity: dict[str, int] = {}
        self.configs: dict[str | None, dict[str, Any]] = {}
        self.modes: dict[str | None, str] = {}
        self.keys = KeyState()  # the DEK Registry's KEKs and DEKs
        self.max_id = 0
        self.applied = 0

    # --- applying log records -----------------------------------------------------------

    def apply(self, key: bytes, value: bytes | None) -> str | None:
        """Apply one log record; return None, or why the record was skipped (state unchanged).

        Unknown key types are ignored without complaint (a newer registry, or Confluent's own
        ``NOOP`` records, may write record types we do not use)."""
        try:
            parsed_key = orjson.loads(key)
        except orjson.JSONDecodeError:
            return "the key is not JSON"
        if not isinstance(parsed_key, dict):
            return "the key is not a JSON object"
        keytype = parsed_key.get("keytype")
        subject = parsed_key.get("subject")
        if keytype not in ("SCHEMA", "CONFIG", "MODE", "KEK", "DEK"):
            return None
        parsed_value: Any = None
        if value is not None:
            try:
                parsed_value = orjson.loads(value)
            except orjson.JSONDecodeError:
                return f"the value of a {keytype} record is not JSON"
            if not isinstance(parsed_value, dict):
                return f"the value of a {keytype} record is not a JSON object"
        if keytype in ("KEK", "DEK"):
            problem = self.keys.apply(parsed_key, parsed_value)
            if problem is not None:
                return problem
        elif keytype == "SCHEMA":
            version = parsed_key.get("version")
            if not isinstance(subject, str) or not _is_int(version):
                return "a SCHEMA key needs a string 'subject' and an integer 'version'"
            if parsed_value is None:
                self._remove_version(subject, version)
            else:
                record = _record_from(parsed_value)
                if isinstance(record, str):
                    return record
                if (record.subject, record.version) != (subject, version):
                    return "the SCHEMA value names another subject or version than its key"
                problem = self._put_version(record)
                if problem is not None:
                    return problem
        elif keytype in ("CONFIG", "MODE"):
            if subject is not None and not isinstance(subject, str):
                return f"a {keytype} key needs a string or null 'subject'"
            if keytype == "CONFIG":
                if parsed_value is None:
                    self.configs.pop(subject, None)
                else:
                    self.configs[subject] = parsed_value
            elif parsed_value is None:
                self.modes.pop(subject, None)
            elif not isinstance(parsed_value.get("mode"), str):
                return "a MODE value needs a string 'mode'"
            else:
                self.modes[subject] = parsed_value["mode"]
        self.applied += 1
        return None

    def _put_version(self, record: SchemaRecord) -> str | None:
        entry = self.schemas.get(record.id)
        others = entry.holders - {(record.subject, record.version)} if entry is not None else None
        if entry is not None and entry.identity != record.identity and others:
            return f"schema id {record.id} already belongs to another schema"
        versions = self.subjects.setdefault(record.subject, {})
        previous = versions.get(record.version)
        if previous is not None:
            self._release(previous)
        versions[record.version] = record
        self.max_id = max(self.max_id, record.id)
        entry = self.schemas.get(record.id)
        if entry is None:
            entry = _SchemaEntry(
                id=record.id,
                schema=record.schema,
                references=record.references,
                metadata=record.metadata,
                guid=_guid(record.identity),
                identity=record.identity,
                rule_set=record.rule_set,
            )
            self.schemas[record.id] = entry
            self.ids_by_identity[record.identity] = record.id
        entry.holders.add((record.subject, record.version))
        return None

    def _remove_version(self, subject: str, version: int) -> None:
        versions = self.subjects.get(subject)
        if not versions or version not in versions:
            return
        record = versions.pop(version)
        if not versions:
            del self.subjects[subject]
        self._release(record)

    def _release(self, record: SchemaRecord) -> None:
        entry = self.schemas.get(record.id)
        if entry is None:
            return
        entry.holders.discard((record.subject, record.version))
        if not entry.holders:
            del self.schemas[record.id]
            if self.ids_by_identity.get(record.identity) == record.id:
                del self.ids_by_identity[record.identity]

    # --- queries ---------------------------------------------------------------------------

    def ids_at(self, key: bytes) -> set[int]:
        """The schema id a SCHEMA log key currently points at (empty for other keys)."""
        try:
            parsed = orjson.loads(key)
        except orjson.JSONDecodeError:
            return set()
        if not isinstance(parsed, dict) or parsed.get("keytype") != "SCHEMA":
            return set()
        subject, version = parsed.get("subject"), parsed.get("version")
        if not isinstance(subject, str) or not _is_int(version):
            return set()
        record = self.subjects.get(subject, {}).get(version)
        return {record.id} if record is not None else set()

    def versions(self, subject: str, *, deleted: bool = False) -> list[SchemaRecord]:
        """A subject's versions in order; soft-deleted ones only when ``deleted``."""
        records = self.subjects.get(subject, {})
        return [records[v] for v in sorted(records) if deleted or not records[v].deleted]

    def latest(self, subject: str) -> SchemaRecord | None:
        """The highest live version."""
        live = self.versions(subject)
        return live[-1] if live else None

    def subject_names(self, *, deleted: bool = False, deleted_only: bool = False) -> list[str]:
        """Subjects with a live version (or only/also soft-deleted ones)."""
        names = []
        for name, records in self.subjects.items():
            live = any(not r.deleted for r in records.values())
            if (deleted_only and not live) or (not deleted_only and (live or deleted)):
                names.append(name)
        return sorted(names)

    def entry(self, schema_id: int) -> _SchemaEntry | None:
        """What an id resolves to."""
        return self.schemas.get(schema_id)

    def entry_by_guid(self, guid: str) -> _SchemaEntry | None:
        """What a guid resolves to."""
        return next((e for e in self.schemas.values() if e.guid == guid), None)

    def holders(self, schema_id: int, *, deleted: bool = False) -> Iterator[SchemaRecord]:
        """The subject versions holding an id, in subject/version order."""
        entry = self.schemas.get(schema_id)
        if entry is None:
            return
        for subject, version in sorted(entry.holders):
            record = self.subjects[subject][version]
            if deleted or not record.deleted:
                yield record

    def referenced_by(self, subject: str, version: int, *, deleted: bool = False) -> list[int]:
        """Ids of schemas whose references name this subject version."""
        ids = set()
        for records in self.subjects.values():
            for record in records.values():
                if record.deleted and not deleted:
                    continue
                for ref in record.references:
                    if ref.get("subject") == subject and ref.get("version") == version:
                        ids.add(record.id)
        return sorted(ids)

    def next_version(self, subject: str) -> int:
        """One more than the highest version still stored (soft-deleted ones count)."""
        records = self.subjects.get(subject)
        return max(records) + 1 if records else 1


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _record_from(value: dict[str, Any]) -> SchemaRecord | str:
    """A stored version, or why the value cannot be one."""
    subject, version, schema_id = value.get("subject"), value.get("version"), value.get("id")
    schema, references = value.get("schema"), value.get("references") or []
    metadata, deleted = value.get("metadata"), value.get("deleted", False)
    rule_set = value.get("ruleSet")
    if not isinstance(subject, str) or not isinstance(schema, str):
        return "a SCHEMA value needs string 'subject' and 'schema' fields"
    if not _is_int(version) or not 1 <= version <= MAX_ID:
        return f"a SCHEMA value needs an integer 'version' in 1..{MAX_ID}"
    if not _is_int(schema_id) or not 0 <= schema_id <= MAX_ID:
        return f"a SCHEMA value needs an integer 'id' in 0..{MAX_ID} (got {schema_id!r})"
    if not isinstance(references, list) or not all(isinstance(r, dict) for r in references):
        return "a SCHEMA value's 'references' must be a list of objects"
    if metadata is not None and not isinstance(metadata, dict):
        return "a SCHEMA value's 'metadata' must be an object"
    if rule_set is not None and not isinstance(rule_set, dict):
        return "a SCHEMA value's 'ruleSet' must be an object"
    if not isinstance(deleted, bool):
        return "a SCHEMA value's 'deleted' must be a boolean"
    return SchemaRecord(
        subject=subject,
        version=version,
        id=schema_id,
        schema=schema,
        references=list(references),
        metadata=metadata,
        deleted=deleted,
        rule_set=rule_set,
    )


def _guid(identity: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(identity.encode()).digest()[:16], version=4))
