"""Schemas from the registry, through confluent-kafka's own ``SchemaRegistryClient``.

:func:`registry_errors` is the one place where the client's errors become ours; the catalog uses
it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.config import RegistrySettings
from streams.errors import (
    DeserializationError,
    RegistryUnavailableError,
    SchemaError,
    StreamsError,
)

__all__ = ["SchemaSource", "WriterSchema", "registry_errors", "unreachable"]

UNREACHABLE_FIX = "start it with `mesh up`, or point STREAMS_REGISTRY__URL (--registry-url) at it"

# The client's HTTP library changed from httpx to httpx2 in confluent-kafka 2.16 and may change
# again, so its network errors are recognised by the class names of the httpx family (shared by
# httpx, httpx2 and httpcore), not by importing one of them.
_TRANSPORT_BASES = frozenset({"TransportError", "TimeoutException", "NetworkError"})

WriterSchema = tuple[str, list[str]]
"""A schema's text and the texts of the schemas it references, dependencies first."""


def unreachable(exc: BaseException, url: str, fix: str = UNREACHABLE_FIX) -> StreamsError | None:
    """A :class:`RegistryUnavailableError` if ``exc`` is a network failure, else ``None``."""
    network = isinstance(exc, OSError) or any(
        cls.__name__ in _TRANSPORT_BASES for cls in type(exc).__mro__
    )
    if not network:
        return None
    detail = " ".join(str(exc).split()) or "no detail"  # one line, whatever the library wrote
    return RegistryUnavailableError(
        f"the schema registry at {url} is unreachable ({type(exc).__name__}: {detail}); {fix}",
        url=url,
    )


def _server_error(url: str, what: str, exc: SchemaRegistryError) -> StreamsError:
    return RegistryUnavailableError(
        f"the registry at {url} failed on {what}: {exc.error_message}", url=url
    )


@contextmanager
def registry_errors(
    url: str,
    what: str,
    *,
    on_response: Callable[[SchemaRegistryError], StreamsError | None] | None = None,
    fix: str = UNREACHABLE_FIX,
) -> Iterator[None]:
    """Turn the registry client's errors into ours, naming ``what`` was asked.

    Network failures become :class:`RegistryUnavailableError` with a one-line message naming
    ``url`` and ``fix``. A response the registry refused goes to ``on_response``; when it returns
    ``None`` (or is not given), the refusal becomes :class:`RegistryUnavailableError`. Any other
    exception is not the client's doing and passes through.
    """
    try:
        yield
    except SchemaRegistryError as exc:
        mapped = on_response(exc) if on_response is not None else None
        raise (mapped or _server_error(url, what, exc)) from exc
    except StreamsError:
        raise
    except Exception as exc:
        error = unreachable(exc, url, fix)
        if error is None:
            raise
        raise error from exc


class SchemaSource:
    """Latest schema of a subject (for producers) and schemas by id (for consumers).

    The client caches what it fetched, so each schema is fetched once per process.
    """

    def __init__(
        self,
        *,
        url: str,
        client: SchemaRegistryClient | None = None,
        conf: Mapping[str, str | int] | None = None,
    ) -> None:
        self.url = url
        self._client = client
        self._conf = dict(conf) if conf is not None else RegistrySettings(url=url).client_conf()
        self._owned = client is None

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> SchemaSource:
        """A source for the registry ``settings`` describe (URL, credentials, TLS)."""
        return cls(url=settings.url, conf=settings.client_conf())

    @property
    def client(self) -> SchemaRegistryClient:
        """The registry client, created on first use."""
        if self._client is None:
            self._client = SchemaRegistryClient(self._conf)
        return self._client

    def latest(self, subject: str) -> tuple[int, str]:
        """The id and text of the latest schema registered under ``subject``."""

        def missing(exc: SchemaRegistryError) -> StreamsError | None:
            if exc.http_status_code != 404:
                return None
            return SchemaError(
                f"no schema is registered under subject {subject!r} at {self.url}: publish "
                "the product first (mesh product apply), or register its schema",
                subject=subject,
            )

        with registry_errors(self.url, f"subject {subject!r}", on_response=missing):
            registered = self.client.get_latest_version(subject)
        if registered.schema_id is None:
            raise RegistryUnavailableError(
                f"the registry at {self.url} returned no id for {subject!r}", url=self.url
            )
        return registered.schema_id, str(registered.schema.schema_str)

    def contract(self, schema_id: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The ``ruleSet`` and ``metadata`` registered with schema ``schema_id`` (its data
        contract), as JSON objects; None where there are none. Fetched once (the client caches).
        """
        schema = self._fetch_id(schema_id)
        rule_set = schema.rule_set.to_dict() if schema.rule_set is not None else None
        metadata = schema.metadata.to_dict() if schema.metadata is not None else None
        return rule_set or None, metadata or None

    def by_id(self, schema_id: int) -> str:
        """The text of schema ``schema_id`` (without its references: see :meth:`writer`).

        Raises:
            DeserializationError: The registry does not know the id (reason ``unknown-schema``):
                the message belongs in the dead-letter topic.
            RegistryUnavailableError: The registry cannot be reached: a transient problem, so
                the message must not be dead-lettered.
        """
        return str(self._fetch_id(schema_id).schema_str)

    def writer(self, schema_id: int) -> WriterSchema:
        """Schema ``schema_id`` and every schema it references, recursively, dependencies first.

        Raises:
            DeserializationError: The id is unknown (``unknown-schema``), or a referenced
                subject/version is missing (``unreadable-schema``).
            RegistryUnavailableError: The registry cannot be reached.
        """
        schema = self._fetch_id(schema_id)
        texts: list[str] = []
        self._resolve(schema, schema_id, texts, seen=set())
        return str(schema.schema_str), texts

    def _fetch_id(self, schema_id: int) -> Any:
        def unknown(exc: SchemaRegistryError) -> StreamsError | None:
            if exc.http_status_code != 404:
                return None
            return DeserializationError(
                f"schema id {schema_id} is not known to the registry at {self.url}: the "
                "message was framed with an id of another registry (point --registry-url / "
                "STREAMS_REGISTRY__URL at the registry its producer used), or its schema was "
                "deleted (register it again, then replay the dead letters)",
                reason="unknown-schema",
                schema_id=schema_id,
            )

        with registry_errors(self.url, f"schema id {schema_id}", on_response=unknown):
            return self.client.get_schema(schema_id)

    def _resolve(
        self, schema: Any, schema_id: int, texts: list[str], seen: set[tuple[str, int]]
    ) -> None:
        """Append the texts ``schema`` references (their own references before them)."""
        for reference in schema.references or ():
            key = (str(reference.subject), int(reference.version))
            if key in seen:
                continue  # shared by two branches, or a cycle the registry let through
            seen.add(key)

            def missing(exc: SchemaRegistryError, ref: Any = reference) -> StreamsError | None:
                if exc.http_status_code != 404:
                    return None
                return DeserializationError(
                    f"schema id {schema_id} references {ref.name!r} (subject {ref.subject!r} "
                    f"version {ref.version}), which the registry at {self.url} does not have",
                    reason="unreadable-schema",
                    schema_id=schema_id,
                )

            with registry_errors(self.url, f"reference {key}", on_response=missing):
                found = self.client.get_version(key[0], key[1])
            self._resolve(found.schema, schema_id, texts, seen)
            texts.append(str(found.schema.schema_str))

    def close(self) -> None:
        """Close the client if this source created it."""
        if self._owned and self._client is not None:
            self._client.close()
            self._client = None
