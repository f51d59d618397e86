"""Registry operations with Confluent Schema Registry semantics.

Reads answer from the journal's in-memory state; writes are decided one at a time under the
journal's lock and answered once their records are committed to the log (see
:mod:`~streams.registry._journal`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from streams.avro import LEVELS, CompatibilityLevel, ParsedSchema, check_level, parse_schema
from streams.errors import InvalidSchemaError, RegistryRequestError
from streams.registry import codes
from streams.registry._ids import check_id_matches, check_id_range, check_version, choose_id
from streams.registry._journal import Journal
from streams.registry.state import (
    RegistryState,
    SchemaRecord,
    config_key,
    identity_of,
    mode_key,
    schema_key,
)
from streams.registry.storage import LogRecord, Storage

__all__ = ["MODES", "Registry"]

logger = logging.getLogger(__name__)

MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
DEFAULT_LEVEL: CompatibilityLevel = "BACKWARD"


class Registry:
    """The registry: Confluent's rules over the journal (state kept equal to the log)."""

    def __init__(self, *, storage: Storage) -> None:
        self._journal = Journal(storage)
        self._lock = self._journal.lock
        self._parsed: dict[int, ParsedSchema] = {}
        # Called with the schema ids whose answers may have changed (None: all of them).
        self.listeners = self._journal.listeners
        self.listeners.append(self._forget_parsed)

    @property
    def lock(self) -> asyncio.Lock:
        """Held while a write is decided or the state is rebuilt."""
        return self._lock

    @property
    def state(self) -> RegistryState:
        """What the log holds (plus writes being committed)."""
        return self._journal.state

    def load(self) -> int:
        """Rebuild the state from storage; return how many records were read."""
        return self._journal.load()

    async def promote(self) -> None:
        """Become the writing instance (see :meth:`Journal.promote`)."""
        await self._journal.promote()

    def follow(self, loop: asyncio.AbstractEventLoop) -> None:
        """Apply records written by others as they arrive (call once, after :meth:`load`)."""
        self._journal.follow(loop)

    def _forget_parsed(self, ids: set[int] | None) -> None:
        if ids is None:
            self._parsed.clear()
        for schema_id in ids or ():
            self._parsed.pop(schema_id, None)

    # --- schemas -------------------------------------------------------------------------

    def parsed(self, schema: str, references: Sequence[Mapping[str, Any]]) -> ParsedSchema:
        """Parse a schema with its references resolved; 422/42201 when it is invalid."""
        texts = self._reference_texts(references, seen=set())
        try:
            return parse_schema(schema, texts)
        except InvalidSchemaError as exc:
            raise RegistryRequestError(422, codes.INVALID_SCHEMA, f"Invalid schema: {exc}") from exc

    def parsed_record(self, record: SchemaRecord) -> ParsedSchema:
        """The parsed form of a stored version (cached by id)."""
        cached = self._parsed.get(record.id)
        if cached is None:
            cached = self.parsed(record.schema, record.references)
            self._parsed[record.id] = cached
        return cached

    def _reference_texts(
        self, references: Sequence[Mapping[str, Any]], seen: set[tuple[str, int]]
    ) -> list[str]:
        texts: list[str] = []
        for ref in references:
            subject = ref.get("subject")
            version = ref.get("version")
            name = ref.get("name")
            if not isinstance(subject, str) or not isinstance(version, int) or not name:
                raise RegistryRequestError(
                    422,
                    codes.INVALID_SCHEMA,
                    f"Invalid schema: reference {dict(ref)} needs 'name', 'subject' and an integer "
                    "'version' (-1 for the latest).",
                )
            record = self.find_version(subject, version, deleted=True, missing_ok=True)
            if record is None:
                raise RegistryRequestError(
                    422,
                    codes.INVALID_SCHEMA,
                    f"Invalid schema: reference {name!r} points at subject {subject!r} version "
                    f"{version}, which does not exist. Register the referenced schema first.",
                )
            if (record.subject, record.version) in seen:
                continue
            seen.add((record.subject, record.version))
            texts.extend(self._reference_texts(record.references, seen))
            texts.append(record.schema)
        return texts

    def find_version(
        self, subject: str, version: int, *, deleted: bool = False, missing_ok: bool = False
    ) -> SchemaRecord | None:
        """A subject version (``-1`` is the latest live one); 40401/40402 when missing."""
        records = self.state.versions(subject, deleted=True)
        if not records or (not deleted and all(r.deleted for r in records)):
            if missing_ok:
                return None
            raise RegistryRequestError(
                404, codes.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found."
            )
        if version == -1:
            found = self.state.latest(subject)
        else:
            found = next((r for r in records if r.version == version), None)
            if found is not None and found.deleted and not deleted:
                found = None
        if found is None and not missing_ok:
            raise RegistryRequestError(
                404, codes.VERSION_NOT_FOUND, f"Version {version} not found."
            )
        return found

    async def register(
        self,
        subject: str,
        *,
        schema: str,
        references: list[dict[str, Any]],
        metadata: dict[str, Any] | None,
        rule_set: dict[str, Any] | None = None,
        version: int | None = None,
        schema_id: int | None = None,
    ) -> SchemaRecord:
        """Register a schema under a subject (idempotent); return the stored version."""
        # Parsing needs no state unless references are resolved, so it runs before the lock:
        # one request parses while another waits for Kafka to acknowledge its write.
        early = self.parsed(schema, ()) if schema and not references else None
        async with self._lock:
            await self._journal.ready()
            record, pending = self._decide_registration(
                subject, schema, references, (metadata, rule_set), version, schema_id, early
            )
        if pending is not None:
            await self._journal.settled(pending)
        return record

    def _decide_registration(
        self,
        subject: str,
        schema: str,
        references: list[dict[str, Any]],
        contract: tuple[dict[str, Any] | None, dict[str, Any] | None],
        version: int | None,
        schema_id: int | None,
        early: ParsedSchema | None,
    ) -> tuple[SchemaRecord, asyncio.Future[None] | None]:
        metadata, rule_set = contract
        mode = self.mode(subject)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            raise RegistryRequestError(
                422,
                codes.OPERATION_NOT_PERMITTED,
                f"Subject {subject} is in read-only mode; set its mode to READWRITE first "
                f"(PUT /mode/{subject}).",
            )
        check_version(version)
        latest = self.state.latest(subject)
        if not schema:
            if latest is None:
                raise RegistryRequestError(
                    422, codes.INVALID_SCHEMA, "Invalid schema: the schema string is empty."
                )
            schema, references = latest.schema, latest.references
        # Confluent: a registration without metadata or rule set keeps the previous version's.
        if metadata is None and latest is not None:
            metadata = latest.metadata
        if rule_set is None and latest is not None:
            rule_set = latest.rule_set
        rule_set = rule_set or None  # an empty rule set (one that clears the rules) is none
        parsed = early or self.parsed(schema, references)
        identity = identity_of(parsed.canonical, references, metadata, rule_set)
        stored = self.state.versions(subject, deleted=True)
        for record in reversed(stored):
            if record.identity == identity and not record.deleted:
                check_id_matches(record.id, schema_id)
                # It may still be in flight: the answer waits for the latest staged write.
                return record, self._journal.last
        records: list[LogRecord] = []
        reused = self.state.ids_by_identity.get(identity)
        if reused is not None:
            check_id_matches(reused, schema_id)
        for record in stored:
            # Confluent drops an older soft-deleted version holding the same id.
            if record.deleted and record.id == reused:
                records.append((schema_key(subject, record.version), None))
        # A bad id is named before any compatibility problem.
        if schema_id is not None:
            check_id_range(schema_id)
        self._check(subject, parsed, metadata)
        next_version = self.state.next_version(subject)
        if version is not None and version not in (next_version, -1, 0):
            raise RegistryRequestError(
                422,
                codes.INVALID_SCHEMA,
                f"Invalid schema: version {version} is not one more than the previous version "
                f"of {subject!r}; the next version is {next_version}.",
            )
        new_id = choose_id(
            self.state, identity, requested=schema_id, reused=reused, importing=mode == "IMPORT"
        )
        record = SchemaRecord(
            subject=subject,
            version=next_version,
            id=new_id,
            schema=parsed.canonical,
            references=references,
            metadata=metadata,
            rule_set=rule_set,
        )
        records.append((schema_key(subject, next_version), record.to_value()))
        pending = self._journal.stage(records)
        self._parsed.setdefault(new_id, parsed)
        return record, pending

    def _check(self, subject: str, parsed: ParsedSchema, metadata: dict[str, Any] | None) -> None:
        problems = self.incompatibilities(subject, parsed, metadata, against=None)
        if problems:
            level = self.level(subject)
            raise RegistryRequestError(
                409,
                codes.INCOMPATIBLE_SCHEMA,
                "Schema being registered is incompatible with an earlier schema for subject "
                f'"{subject}" (compatibility {level}): '
                + "; ".join(problems)
                + ". Make the change compatible "
                "(e.g. give new fields a default), or publish it under a new major version.",
            )

    def incompatibilities(
        self,
        subject: str,
        parsed: ParsedSchema,
        metadata: dict[str, Any] | None,
        *,
        against: SchemaRecord | None,
    ) -> list[str]:
        """Readable incompatibilities of ``parsed`` with the versions its level checks."""
        level = self.level(subject)
        if against is not None:
            history = [against]
            if level.endswith("_TRANSITIVE"):
                level = level.removesuffix("_TRANSITIVE")  # type: ignore[assignment]
        else:
            history = self.state.versions(subject)
            group = self.config(subject).get("compatibilityGroup")
            if group:
                wanted = _property(metadata, group)
                history = [r for r in history if _property(r.metadata, group) == wanted]
        if level == "NONE" or not history:
            return []
        earlier = [self._checkable(subject, r) for r in history]
        problems: list[str] = []
        for problem in check_level(level, parsed, earlier):
            problems.append(problem.describe())
        return problems

    def _checkable(self, subject: str, record: SchemaRecord) -> ParsedSchema:
        """A stored version to check against; 409 naming it (and the way out) when unparseable.

        Another tool may have written a schema this registry refuses to ``_schemas``; blaming
        the request for it would leave the subject stuck behind a misleading message.
        """
        try:
            return self.parsed_record(record)
        except RegistryRequestError as exc:
            why = exc.message.removeprefix("Invalid schema: ")
            raise RegistryRequestError(
                409,
                codes.INCOMPATIBLE_SCHEMA,
                f"Cannot check compatibility: version {record.version} of subject {subject!r} "
                f"(id {record.id}) is not a valid schema for this registry ({why}); another "
                "tool or an older registry wrote it to the log. To go on, delete that version "
                f"(DELETE /subjects/{subject}/versions/{record.version}, if nothing reads it any "
                f"more), or register without checking against it (PUT /config/{subject} with "
                '{"compatibility": "NONE"}).',
            ) from exc

    # --- config and mode -------------------------------------------------------------------

    def config(self, subject: str | None) -> dict[str, Any]:
        """The stored config of a subject (or the global one); may be empty."""
        return self.state.configs.get(subject, {})

    def level(self, subject: str | None) -> CompatibilityLevel:
        """The compatibility level in force for a subject."""
        for key in (subject, None):
            value = self.state.configs.get(key, {}).get("compatibilityLevel")
            if value in LEVELS:
                return value  # type: ignore[no-any-return]
        return DEFAULT_LEVEL

    def mode(self, subject: str | None) -> str:
        """The mode in force for a subject."""
        return self.state.modes.get(subject) or self.state.modes.get(None) or "READWRITE"

    async def set_config(self, subject: str | None, update: dict[str, Any]) -> dict[str, Any]:
        """Merge a config update (already validated) and store it."""
        async with self._lock:
            await self._journal.ready()
            merged = {**self.config(subject), **update}
            pending = self._journal.stage([(config_key(subject), orjson.dumps(merged))])
        await self._journal.settled(pending)
        return merged

    async def delete_config(self, subject: str | None) -> dict[str, Any]:
        """Remove a subject's config; return what it was."""
        async with self._lock:
            await self._journal.ready()
            old = self.config(subject)
            pending = self._journal.stage([(config_key(subject), None)])
        await self._journal.settled(pending)
        return old

    async def set_mode(self, subject: str | None, mode: str) -> None:
        """Store a mode."""
        async with self._lock:
            await self._journal.ready()
            pending = self._journal.stage([(mode_key(subject), orjson.dumps({"mode": mode}))])
        await self._journal.settled(pending)

    async def delete_mode(self, subject: str | None) -> None:
        """Remove a subject's mode."""
        async with self._lock:
            await self._journal.ready()
            pending = self._journal.stage([(mode_key(subject), None)])
        await self._journal.settled(pending)

    async def write(self, decide: Callable[[], Sequence[LogRecord]]) -> None:
        """Commit what ``decide`` makes of the current state (under the write lock).

        For routes whose records are not schemas (the DEK Registry's keys): ``decide`` reads
        the state, raises :class:`RegistryRequestError` to refuse, or returns the records.
        """
        async with self._lock:
            await self._journal.ready()
            records = decide()
            pending = self._journal.stage(records) if records else self._journal.last
        if pending is not None:
            await self._journal.settled(pending)

    # --- deletes --------------------------------------------------------------------------

    async def delete_version(self, subject: str, version: int, *, permanent: bool) -> int:
        """Soft- or hard-delete one version; return its number."""
        async with self._lock:
            await self._journal.ready()
            record = self.find_version(subject, version, deleted=True)
            assert record is not None
            if permanent and not record.deleted:
                raise RegistryRequestError(
                    404,
                    codes.VERSION_NOT_SOFT_DELETED,
                    f"Subject '{subject}' Version {record.version} was not deleted first before "
                    "being permanently deleted",
                )
            if not permanent and record.deleted:
                raise RegistryRequestError(
                    404,
                    codes.VERSION_SOFT_DELETED,
                    f"Subject '{subject}' Version {record.version} was soft deleted. Set "
                    "permanent=true to delete permanently",
                )
            referrers = self.state.referenced_by(subject, record.version)
            if referrers:
                raise RegistryRequestError(
                    422,
                    codes.REFERENCE_EXISTS,
                    f"One or more references exist to the schema {{subject={subject}, version="
                    f"{record.version}}}: schema ids {referrers}. Delete those first.",
                )
            records: list[LogRecord] = []
            if permanent:
                records.append((schema_key(subject, record.version), None))
                if len(self.state.versions(subject, deleted=True)) == 1:
                    records += [(config_key(subject), None), (mode_key(subject), None)]
            else:
                record_copy = SchemaRecord(**{**_fields(record), "deleted": True})
                records.append((schema_key(subject, record.version), record_copy.to_value()))
            pending = self._journal.stage(records)
        await self._journal.settled(pending)
        return record.version

    async def delete_subject(self, subject: str, *, permanent: bool) -> list[int]:
        """Soft- or hard-delete every version of a subject; return the version numbers."""
        async with self._lock:
            await self._journal.ready()
            stored = self.state.versions(subject, deleted=True)
            if not stored:
                raise RegistryRequestError(
                    404, codes.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found."
                )
            live = [r for r in stored if not r.deleted]
            if permanent and live:
                raise RegistryRequestError(
                    404,
                    codes.SUBJECT_NOT_SOFT_DELETED,
                    f"Subject '{subject}' was not deleted first before being permanently deleted",
                )
            if not permanent and not live:
                raise RegistryRequestError(
                    404,
                    codes.SUBJECT_SOFT_DELETED,
                    f"Subject '{subject}' was soft deleted. "
                    "Set permanent=true to delete permanently",
                )
            for record in live:
                if self.state.referenced_by(subject, record.version):
                    raise RegistryRequestError(
                        422,
                        codes.REFERENCE_EXISTS,
                        f"One or more references exist to subject {subject!r} version "
                        f"{record.version}. Delete the referencing schemas first.",
                    )
            records: list[LogRecord] = []
            if permanent:
                records = [(schema_key(subject, r.version), None) for r in stored]
                records += [(config_key(subject), None), (mode_key(subject), None)]
            else:
                for record in live:
                    gone = SchemaRecord(**{**_fields(record), "deleted": True})
                    records.append((schema_key(subject, record.version), gone.to_value()))
            pending = self._journal.stage(records)
        await self._journal.settled(pending)
        return [r.version for r in (stored if permanent else live)]


def _fields(record: SchemaRecord) -> dict[str, Any]:
    return {
        "subject": record.subject,
        "version": record.version,
        "id": record.id,
        "schema": record.schema,
        "references": record.references,
        "metadata": record.metadata,
        "deleted": record.deleted,
        "rule_set": record.rule_set,
    }


def _property(metadata: dict[str, Any] | None, name: str) -> Any:
    properties = (metadata or {}).get("properties") or {}
    return properties.get(name)
