"""Schemas from the registry, through confluent-kafka's own ``SchemaRegistryClient``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.errors import (
    DeserializationError,
    RegistryUnavailableError,
    SchemaError,
    StreamsError,
)

__all__ = ["SchemaSource"]


class SchemaSource:
    """Latest schema of a subject (for producers) and schemas by id (for consumers).

    The client caches what it fetched, so each schema is fetched once per process.
    """

    def __init__(self, *, url: str, client: SchemaRegistryClient | None = None) -> None:
        self.url = url
        self._client = client
        self._owned = client is None

    @property
    def client(self) -> SchemaRegistryClient:
        """The registry client, created on first use."""
        if self._client is None:
            self._client = SchemaRegistryClient({"url": self.url})
        return self._client

    @contextmanager
    def _asking(self, what: str, not_found: Callable[[], StreamsError]) -> Iterator[None]:
        """Turn the client's errors into ours: 404 -> ``not_found()``, the rest -> unreachable."""
        try:
            yield
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise not_found() from exc
            raise RegistryUnavailableError(
                f"the registry at {self.url} failed on {what}: {exc}", url=self.url
            ) from exc
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"the schema registry at {self.url} is unreachable ({exc}); start it with "
                "`mesh up` or set STREAMS_REGISTRY__URL",
                url=self.url,
            ) from exc

    def latest(self, subject: str) -> tuple[int, str]:
        """The id and text of the latest schema registered under ``subject``."""

        def missing() -> StreamsError:
            return SchemaError(
                f"no schema is registered under subject {subject!r} at {self.url}: publish "
                "the product first (mesh product apply), or register its schema",
                subject=subject,
            )

        with self._asking(f"subject {subject!r}", missing):
            registered = self.client.get_latest_version(subject)
        if registered.schema_id is None:
            raise RegistryUnavailableError(
                f"the registry at {self.url} returned no id for {subject!r}", url=self.url
            )
        return registered.schema_id, str(registered.schema.schema_str)

    def by_id(self, schema_id: int) -> str:
        """The text of schema ``schema_id``.

        Raises:
            DeserializationError: The registry does not know the id (reason ``unknown-schema``):
                the message belongs in the dead-letter topic.
            RegistryUnavailableError: The registry cannot be reached: a transient problem, so
                the message must not be dead-lettered.
        """

        def unknown() -> StreamsError:
            return DeserializationError(
                f"schema id {schema_id} is not known to the registry at {self.url}",
                reason="unknown-schema",
                schema_id=schema_id,
            )

        with self._asking(f"schema id {schema_id}", unknown):
            return str(self.client.get_schema(schema_id).schema_str)

    def close(self) -> None:
        """Close the client if this source created it."""
        if self._owned and self._client is not None:
            self._client.close()
            self._client = None
