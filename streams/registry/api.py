"""The Confluent Schema Registry REST API (Avro) over :class:`~streams.registry.service.Registry`.

Routes answer JSON with Confluent's status codes and ``error_code`` values, so that
confluent-kafka's ``SchemaRegistryClient`` (and any other Confluent client) works unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import orjson

from streams.errors import RegistryRequestError
from streams.registry import codes
from streams.registry._access_api import AccessRoutes
from streams.registry._dek_api import DekRoutes
from streams.registry._domains_api import DomainRoutes
from streams.registry._http import Request, Response, render
from streams.registry._keys_api import KeyRoutes
from streams.registry._query import flag, page, parse_version, schema_body
from streams.registry._settings_api import SettingsRoutes
from streams.registry.service import Registry
from streams.registry.state import SchemaRecord

__all__ = ["Api"]

Result = Any
Route = Callable[..., "Result | Awaitable[Result]"]


# Python's recursion limit is the depth bound of every schema walk; a deeper schema is refused.
_TOO_DEEP = RegistryRequestError(
    422,
    codes.INVALID_SCHEMA,
    "Invalid schema: nested too deeply to process; name the nested types and refer to them "
    "by name instead of nesting them inline.",
)


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def version_json(record: SchemaRecord, *, guid: str | None = None) -> dict[str, Any]:
    """A subject version as Confluent returns it."""
    body: dict[str, Any] = {
        "subject": record.subject,
        "version": record.version,
        "id": record.id,
        "schema": record.schema,
    }
    if guid:
        body["guid"] = guid
    if record.references:
        body["references"] = record.references
    if record.metadata is not None:
        body["metadata"] = record.metadata
    if record.rule_set is not None:
        body["ruleSet"] = record.rule_set
    if record.deleted:
        body["deleted"] = True
    return body


class Api:
    """Routes requests to the registry; keeps the precomputed answers for ``/schemas/ids/{id}``.

    Args:
        registry: The registry's state and writes.
        domains: The ``/mesh/v1`` trust and domain routes (default: a registry without
            authentication, which keeps no domains).
        keys: The ``/mesh/v1/keys`` routes (None: this registry holds no KEK).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        domains: DomainRoutes | None = None,
        access: AccessRoutes | None = None,
        keys: KeyRoutes | None = None,
    ) -> None:
        self.registry = registry
        self.fast: dict[bytes, bytes] = {}
        registry.listeners.append(self.refresh)
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []
        add = self._add
        add("GET", r"/", lambda r: {})
        add("GET", r"/schemas/types", lambda r: ["AVRO"])
        add("GET", r"/contexts", lambda r: ["."])
        add("GET", r"/v1/metadata/id", lambda r: {"scope": {"clusters": {}}})
        add("GET", r"/schemas", self.list_schemas)
        add("GET", r"/schemas/ids/(\d+)", self.get_schema)
        add("GET", r"/schemas/ids/(\d+)/schema", self.get_schema_raw)
        add("GET", r"/schemas/ids/(\d+)/subjects", self.get_schema_subjects)
        add("GET", r"/schemas/ids/(\d+)/versions", self.get_schema_versions)
        add("GET", r"/schemas/guids/([^/]+)", self.get_schema_by_guid)
        add("GET", r"/subjects", self.list_subjects)
        add("POST", r"/subjects/([^/]+)", self.lookup)
        add("DELETE", r"/subjects/([^/]+)", self.delete_subject)
        add("GET", r"/subjects/([^/]+)/versions", self.list_versions)
        add("POST", r"/subjects/([^/]+)/versions", self.register)
        add("GET", r"/subjects/([^/]+)/versions/([^/]+)", self.get_version)
        add("DELETE", r"/subjects/([^/]+)/versions/([^/]+)", self.delete_version)
        add("GET", r"/subjects/([^/]+)/versions/([^/]+)/schema", self.get_version_raw)
        add("GET", r"/subjects/([^/]+)/versions/([^/]+)/referencedby", self.referenced_by)
        add("GET", r"/subjects/([^/]+)/metadata", self.get_by_metadata)
        add("POST", r"/compatibility/subjects/([^/]+)/versions/([^/]+)", self.check_version)
        add("POST", r"/compatibility/subjects/([^/]+)/versions", self.check_all)
        settings = SettingsRoutes(registry)
        for prefix, subject in (("/config", ""), ("/config/([^/]+)", "s")):
            add("GET", prefix, settings.get_config if subject else settings.get_global_config)
            add("PUT", prefix, settings.put_config)
            add("DELETE", prefix, settings.delete_config)
        for prefix in ("/mode", "/mode/([^/]+)"):
            add("GET", prefix, settings.get_mode)
            add("PUT", prefix, settings.put_mode)
            add("DELETE", prefix, settings.delete_mode)
        add("GET", r"/associations/resources/([^/]+)/([^/]+)", lambda r, ns, name: [])
        DekRoutes(registry).install(add)
        self.domains = domains or DomainRoutes(book=None, log=None)
        add("GET", r"/mesh/v1/trust", self.domains.trust)
        add("GET", r"/mesh/v1/domains", self.domains.list_domains)
        add("POST", r"/mesh/v1/domains", self.domains.create_domain)
        add("DELETE", r"/mesh/v1/domains/([^/]+)", self.domains.revoke_domain)
        self.access = access or AccessRoutes(book=None, log=None, domains=None)
        self.access.install(add)
        if keys is not None:
            keys.install(add)
        self.refresh(None)

    def _add(self, method: str, pattern: str, route: Route) -> None:
        self._routes.append((method, re.compile(pattern + "/?$"), route))

    # --- dispatch ---------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        """Route one request; errors become Confluent-style JSON bodies."""
        allowed = False
        for method, pattern, route in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            allowed = True
            if method != request.method:
                continue
            args = [unquote(arg) for arg in match.groups()]
            try:
                result = route(request, *args)
            except RegistryRequestError as exc:
                return _error(exc)
            except RecursionError:
                return _error(_TOO_DEEP)
            if isinstance(result, Awaitable):
                return self._finish(result)
            if isinstance(result, Response):
                return result
            return Response(200, _dumps(result))
        if allowed:
            return _error(
                RegistryRequestError(405, codes.METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed")
            )
        return _error(
            RegistryRequestError(404, codes.NOT_FOUND, f"HTTP 404 Not Found: {request.path}")
        )

    async def _finish(self, pending: Awaitable[Result]) -> Response:
        try:
            result = await pending
            return result if isinstance(result, Response) else Response(200, _dumps(result))
        except RegistryRequestError as exc:
            return _error(exc)
        except RecursionError:
            return _error(_TOO_DEEP)

    @staticmethod
    def fast_key(target: bytes) -> bytes | None:
        """The precomputed target whose answer ``target`` shares, or None.

        ``/schemas/ids/{id}?subject=s`` is what confluent-kafka's deserializers ask; the subject
        only names a context in Confluent's registry, and this registry has the default context
        only, so the answer is the same bytes as for ``/schemas/ids/{id}``.
        """
        path, _, query = target.partition(b"?")
        if query.startswith(b"subject=") and b"&" not in query and path.startswith(b"/schemas/"):
            return path
        return None

    def refresh(self, ids: set[int] | None) -> None:
        """Recompute the precomputed ``GET /schemas/ids/{id}`` answers of ``ids`` (None: all)."""
        schemas = self.registry.state.schemas
        if ids is None:
            self.fast.clear()
            ids = set(schemas)
        for schema_id in ids:
            target = b"/schemas/ids/%d" % schema_id
            entry = schemas.get(schema_id)
            if entry is None:
                self.fast.pop(target, None)
            else:
                self.fast[target] = render(200, _dumps(self._schema_json(entry)))

    # --- schemas by id --------------------------------------------------------------------

    @staticmethod
    def _schema_json(entry: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"schema": entry.schema, "guid": entry.guid}
        if entry.references:
            body["references"] = entry.references
        if entry.metadata is not None:
            body["metadata"] = entry.metadata
        if entry.rule_set is not None:
            body["ruleSet"] = entry.rule_set
        return body

    def _entry(self, schema_id: str) -> Any:
        entry = self.registry.state.entry(int(schema_id))
        if entry is None:
            raise RegistryRequestError(404, codes.SCHEMA_NOT_FOUND, f"Schema {schema_id} not found")
        return entry

    def get_schema(self, request: Request, schema_id: str) -> Result:
        body = self._schema_json(self._entry(schema_id))
        if flag(request, "fetchMaxId"):
            body["maxId"] = self.registry.state.max_id
        return body

    def get_schema_by_guid(self, request: Request, guid: str) -> Result:
        entry = self.registry.state.entry_by_guid(guid)
        if entry is None:
            raise RegistryRequestError(404, codes.SCHEMA_NOT_FOUND, f"Schema {guid} not found")
        return {**self._schema_json(entry), "id": entry.id}

    def get_schema_raw(self, request: Request, schema_id: str) -> Result:
        return orjson.Fragment(self._entry(schema_id).schema.encode())

    def get_schema_subjects(self, request: Request, schema_id: str) -> Result:
        self._entry(schema_id)
        holders = self.registry.state.holders(int(schema_id), deleted=flag(request, "deleted"))
        return sorted({r.subject for r in holders})

    def get_schema_versions(self, request: Request, schema_id: str) -> Result:
        self._entry(schema_id)
        holders = self.registry.state.holders(int(schema_id), deleted=flag(request, "deleted"))
        return [{"subject": r.subject, "version": r.version} for r in holders]

    def list_schemas(self, request: Request) -> Result:
        state = self.registry.state
        prefix = request.query.get("subjectPrefix", "")
        deleted = flag(request, "deleted")
        found: list[dict[str, Any]] = []
        for subject in state.subject_names(deleted=deleted):
            if not subject.startswith(prefix):
                continue
            versions = state.versions(subject, deleted=deleted)
            if flag(request, "latestOnly"):
                versions = versions[-1:]
            found.extend(version_json(r) for r in versions)
        return page(request, found)

    # --- subjects ---------------------------------------------------------------------------

    def list_subjects(self, request: Request) -> Result:
        deleted_only = flag(request, "deletedOnly") or flag(request, "deleted_only")
        names = self.registry.state.subject_names(
            deleted=flag(request, "deleted"), deleted_only=deleted_only
        )
        prefix = request.query.get("subjectPrefix", "")
        return page(request, [n for n in names if n.startswith(prefix)])

    def list_versions(self, request: Request, subject: str) -> Result:
        deleted_only = flag(request, "deletedOnly") or flag(request, "deleted_only")
        stored = self.registry.state.versions(subject, deleted=True)
        if deleted_only:
            found = [r.version for r in stored if r.deleted]
        else:
            found = [r.version for r in stored if flag(request, "deleted") or not r.deleted]
        if not stored or (not found and not deleted_only):
            raise RegistryRequestError(
                404, codes.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found."
            )
        return page(request, found)

    def _version(self, request: Request, subject: str, version: str) -> SchemaRecord:
        number = parse_version(version)
        record = self.registry.find_version(subject, number, deleted=flag(request, "deleted"))
        assert record is not None
        return record

    def get_version(self, request: Request, subject: str, version: str) -> Result:
        record = self._version(request, subject, version)
        entry = self.registry.state.entry(record.id)
        return version_json(record, guid=entry.guid if entry else None)

    def get_version_raw(self, request: Request, subject: str, version: str) -> Result:
        return orjson.Fragment(self._version(request, subject, version).schema.encode())

    def referenced_by(self, request: Request, subject: str, version: str) -> Result:
        record = self._version(request, subject, version)
        return self.registry.state.referenced_by(
            subject, record.version, deleted=flag(request, "deleted")
        )

    def get_by_metadata(self, request: Request, subject: str) -> Result:
        keys = [v for k, v in request.pairs if k == "key"]
        values = [v for k, v in request.pairs if k == "value"]
        wanted = dict(zip(keys, values, strict=False))
        if not self.registry.state.versions(subject, deleted=flag(request, "deleted")):
            raise RegistryRequestError(
                404, codes.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found."
            )
        for record in reversed(
            self.registry.state.versions(subject, deleted=flag(request, "deleted"))
        ):
            properties = (record.metadata or {}).get("properties") or {}
            if all(properties.get(k) == v for k, v in wanted.items()):
                return version_json(record)
        raise RegistryRequestError(
            404, codes.SCHEMA_NOT_FOUND, f"Schema not found: no version of {subject!r} has {wanted}"
        )

    async def register(self, request: Request, subject: str) -> Result:
        body = schema_body(request, allow_empty=True)
        record = await self.registry.register(
            subject,
            schema=body["schema"],
            references=body["references"],
            metadata=body["metadata"],
            rule_set=body["rule_set"],
            version=body.get("version"),
            schema_id=body.get("id"),
        )
        entry = self.registry.state.entry(record.id)
        return {"id": record.id, "version": record.version, "guid": entry.guid if entry else None}

    def lookup(self, request: Request, subject: str) -> Result:
        body = schema_body(request)
        deleted = flag(request, "deleted")
        stored = self.registry.state.versions(subject, deleted=deleted)
        if not stored:
            raise RegistryRequestError(
                404, codes.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found."
            )
        parsed = self.registry.parsed(body["schema"], body["references"])
        for record in reversed(stored):
            if record.schema != parsed.canonical or record.references != body["references"]:
                continue
            if body["metadata"] is not None and record.metadata != body["metadata"]:
                continue
            if body["rule_set"] is not None and record.rule_set != (body["rule_set"] or None):
                continue
            return version_json(record)
        raise RegistryRequestError(404, codes.SCHEMA_NOT_FOUND, "Schema not found")

    async def delete_subject(self, request: Request, subject: str) -> Result:
        return await self.registry.delete_subject(subject, permanent=flag(request, "permanent"))

    async def delete_version(self, request: Request, subject: str, version: str) -> Result:
        number = parse_version(version)
        return await self.registry.delete_version(
            subject, number, permanent=flag(request, "permanent")
        )

    # --- compatibility ------------------------------------------------------------------------

    def check_version(self, request: Request, subject: str, version: str) -> Result:
        number = parse_version(version)
        body = schema_body(request)
        parsed = self.registry.parsed(body["schema"], body["references"])
        if number == -1 and self.registry.state.latest(subject) is None:
            return {"is_compatible": True}
        record = self.registry.find_version(subject, number, missing_ok=True)
        if record is None:
            raise RegistryRequestError(
                404, codes.VERSION_NOT_FOUND, f"Version {version} not found."
            )
        problems = self.registry.incompatibilities(
            subject, parsed, body["metadata"], against=record
        )
        return _verdict(request, problems)

    def check_all(self, request: Request, subject: str) -> Result:
        body = schema_body(request)
        parsed = self.registry.parsed(body["schema"], body["references"])
        latest = self.registry.state.latest(subject)
        metadata = (
            body["metadata"] if body["metadata"] is not None else (latest and latest.metadata)
        )
        problems = self.registry.incompatibilities(subject, parsed, metadata or None, against=None)
        return _verdict(request, problems)


def _verdict(request: Request, problems: list[str]) -> dict[str, Any]:
    verdict: dict[str, Any] = {"is_compatible": not problems}
    if flag(request, "verbose"):
        verdict["messages"] = problems
    return verdict


def _error(exc: RegistryRequestError) -> Response:
    return Response(exc.status, _dumps({"error_code": exc.error_code, "message": exc.message}))
