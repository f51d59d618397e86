"""Waiting out a schema registry outage in the live driver.

A live batch asks the registry for a writer schema it has not cached yet (and, once, for the
product's output schema). An unreachable registry is transient: dead-lettering the record would
throw away an event that is fine, and stopping the worker turns a registry restart into an
agent restart. So the batch waits: it retries with a growing pause (logging a warning that
names the registry and what it waits for), holding the batch so that nothing of it is
acknowledged (faust stops fetching once its buffers are full: back-pressure), and goes on when
the registry answers. The batch runs in a thread, so faust's loop keeps heartbeating meanwhile.

Only an answer retrying cannot change is raised at once: 404 (the id is unknown: the record is
a dead letter, as before) and the other 4xx refusals (bad credentials, a malformed request).

The loop is a few lines on a :class:`threading.Event`, which a stopping worker sets to end the
wait at once; a retry library would add a dependency for no less code.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.errors import RegistryUnavailableError
from streams.kafka import SchemaSource
from streams.kafka.schemas import WriterSchema

__all__ = ["PatientSchemaSource", "transient"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# 408 Request Timeout and 429 Too Many Requests are the 4xx answers that a later try may change.
_RETRYABLE_4XX = frozenset({408, 429})


def transient(exc: RegistryUnavailableError) -> bool:
    """Whether retrying may help: no answer at all, a 5xx, 408 or 429 (not 401, 403, 422...)."""
    cause = exc.__cause__
    if not isinstance(cause, SchemaRegistryError):
        return True  # a network failure: nothing answered
    status = cause.http_status_code
    return not (400 <= status < 500) or status in _RETRYABLE_4XX


class PatientSchemaSource(SchemaSource):
    """A :class:`SchemaSource` that waits while the registry is unreachable.

    Args:
        url: The registry's URL.
        client: A registry client (tests); by default one is made from ``conf``.
        conf: The client's configuration.
        first_wait_s: The first pause between tries; it doubles up to ``max_wait_s``.
        max_wait_s: The longest pause between tries.
    """

    def __init__(
        self,
        *,
        url: str,
        client: SchemaRegistryClient | None = None,
        conf: Mapping[str, str | int] | None = None,
        first_wait_s: float = 0.5,
        max_wait_s: float = 15.0,
    ) -> None:
        super().__init__(url=url, client=client, conf=conf)
        self._first_wait = first_wait_s
        self._max_wait = max_wait_s
        self._stopping = threading.Event()

    def stop_waiting(self) -> None:
        """End every wait, now and later, with a :class:`RegistryUnavailableError` (the worker
        stops; the batch in hand is then not checkpointed and is read again after a restart)."""
        self._stopping.set()

    def writer(self, schema_id: int) -> WriterSchema:
        """See :meth:`SchemaSource.writer`; waits while the registry is unreachable."""
        return self._patiently(
            lambda: super(PatientSchemaSource, self).writer(schema_id), f"schema id {schema_id}"
        )

    def latest(self, subject: str) -> tuple[int, str]:
        """See :meth:`SchemaSource.latest`; waits while the registry is unreachable."""
        return self._patiently(
            lambda: super(PatientSchemaSource, self).latest(subject),
            f"the latest schema of subject {subject!r}",
        )

    def _patiently(self, call: Callable[[], T], what: str) -> T:
        wait = self._first_wait
        tries = 0
        started = time.monotonic()
        while True:
            try:
                result = call()
            except RegistryUnavailableError as exc:
                if not transient(exc):
                    raise
                tries += 1
                logger.warning(
                    "waiting for the schema registry: the batch that needs %s is held (nothing "
                    "of it is acknowledged) and tries again in %.1f s (try %d): %s",
                    what,
                    wait,
                    tries,
                    exc,
                )
                if self._stopping.wait(wait):
                    raise RegistryUnavailableError(
                        f"gave up waiting for the schema registry at {self.url} ({what}): the "
                        "worker is stopping; the batch in hand was not checkpointed, so a "
                        "restart reads it again",
                        url=self.url,
                    ) from exc
                # Jitter, so workers that lost the registry together do not retry in step.
                wait = min(wait * 2, self._max_wait) * random.uniform(0.8, 1.0)
                continue
            if tries:
                logger.warning(
                    "the schema registry at %s answered again (%s) after %d tries in %.0f s; "
                    "the batch goes on",
                    self.url,
                    what,
                    tries + 1,
                    time.monotonic() - started,
                )
            return result
