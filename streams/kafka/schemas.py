"""Schemas from the registry, through confluent-kafka's own ``SchemaRegistryClient``."""

from __future__ import annotations

import httpx
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.errors import DeserializationError, RegistryUnavailableError, SchemaError

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

    def latest(self, subject: str) -> tuple[int, str]:
        """The id and text of the latest schema registered under ``subject``."""
        try:
            registered = self.client.get_latest_version(subject)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise SchemaError(
                    f"no schema is registered under subject {subject!r} at {self.url}: publish "
                    "the product first (mesh product apply), or register its schema",
                    subject=subject,
                ) from exc
            raise RegistryUnavailableError(
                f"the registry at {self.url} refused {subject!r}: {exc}", url=self.url
            ) from exc
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"the schema registry at {self.url} is unreachable ({exc}); start it with "
                "`mesh up` or set STREAMS_REGISTRY__URL",
                url=self.url,
            ) from exc
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
        try:
            return str(self.client.get_schema(schema_id).schema_str)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise DeserializationError(
                    f"schema id {schema_id} is not known to the registry at {self.url}",
                    reason="unknown-schema",
                    schema_id=schema_id,
                ) from exc
            raise RegistryUnavailableError(
                f"the registry at {self.url} failed on schema id {schema_id}: {exc}", url=self.url
            ) from exc
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"the schema registry at {self.url} is unreachable ({exc})", url=self.url
            ) from exc

    def close(self) -> None:
        """Close the client if this source created it."""
        if self._owned and self._client is not None:
            self._client.close()
            self._client = None
