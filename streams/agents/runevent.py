"""OpenLineage 2-0-2 run events as JSON-ready dicts (pure): :func:`run_event` and its parts.

Field by field as the spec's JSON schema (https://openlineage.io/spec/2-0-2/OpenLineage.json)
names them; datasets named by OpenLineage's Kafka convention; our own run facets are prefixed
``streams_`` and point their ``_schemaURL`` at the spec's base run facet.
:mod:`streams.agents.lineage` sends them.
"""

from __future__ import annotations

import datetime
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from streams.catalog.agents import Processing

__all__ = [
    "CUSTOM_FACET_SCHEMA_URL",
    "JOB_NAMESPACE",
    "PRODUCER",
    "SCHEMA_URL",
    "Dataset",
    "EventType",
    "dataset_namespace",
    "message_key",
    "run_event",
]

JOB_NAMESPACE = "streams"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
JOB_TYPE_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
)
ERROR_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
)
INTEGRATION = "STREAMS"

EventType = Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL"]
CUSTOM_FACET_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"
"""The ``_schemaURL`` of our own run facets (``streams_*``): the spec's base run facet."""


def _producer_uri() -> str:
    try:
        found = version("streams")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "0"
    return f"urn:streams:{found}"


PRODUCER = _producer_uri()
"""The ``producer`` URI of our events: ``urn:streams:<package version>``."""


@dataclass(frozen=True, slots=True)
class Dataset:
    """An OpenLineage dataset: for a Kafka topic, ``kafka://host:port`` and the topic."""

    namespace: str
    name: str

    def to_dict(self) -> dict[str, str]:
        """The event's form."""
        return {"namespace": self.namespace, "name": self.name}


def dataset_namespace(bootstrap_servers: str) -> str:
    """``kafka://{host}:{port}`` of the first bootstrap server (OpenLineage's Kafka naming).

    A ``PLAINTEXT://``-style listener prefix is dropped.
    """
    first = bootstrap_servers.split(",")[0].strip()
    return f"kafka://{first.split('://', 1)[-1]}"


def message_key(job_namespace: str, job_name: str) -> str:
    """``run:<namespace>/<name>``: how OpenLineage's KafkaTransport keys a run event."""
    return f"run:{job_namespace}/{job_name}"


def run_event(
    *,
    event_type: EventType,
    run_id: str,
    job_name: str,
    processing: Processing,
    inputs: Sequence[Dataset],
    outputs: Sequence[Dataset],
    event_time: datetime.datetime,
    error: BaseException | None = None,
    facets: Mapping[str, Mapping[str, Any]] | None = None,
    producer: str = PRODUCER,
) -> dict[str, Any]:
    """One OpenLineage 2-0-2 RunEvent as a JSON-ready dict.

    Args:
        event_type: START, RUNNING, COMPLETE or FAIL.
        run_id: The run's uuid (the same for every event of one run).
        job_name: The job's name in namespace ``streams``.
        processing: STREAMING (a live agent) or BATCH (a replay).
        inputs: The datasets read.
        outputs: The datasets written.
        event_time: When it happened (timezone-aware).
        error: For FAIL, the error (its message and traceback go in ``errorMessage``).
        facets: Our custom run facets by name (``streams_*``), without ``_producer`` and
            ``_schemaURL`` (added here).
        producer: The ``producer`` URI.
    """
    if event_time.tzinfo is None:
        raise ValueError("event_time must be timezone-aware")
    job_type = {
        "_producer": producer,
        "_schemaURL": JOB_TYPE_SCHEMA_URL,
        "processingType": processing,
        "integration": INTEGRATION,
        "jobType": "AGENT" if processing == "STREAMING" else "REPLAY",
    }
    run: dict[str, Any] = {"runId": str(uuid.UUID(run_id))}
    run_facets = {
        name: {"_producer": producer, "_schemaURL": CUSTOM_FACET_SCHEMA_URL, **facet}
        for name, facet in (facets or {}).items()
    }
    if error is not None:
        run_facets |= {
            "errorMessage": {
                "_producer": producer,
                "_schemaURL": ERROR_SCHEMA_URL,
                "message": f"{type(error).__name__}: {error}",
                "programmingLanguage": "PYTHON",
                "stackTrace": "".join(traceback.format_exception(error)),
            }
        }
    if run_facets:
        run["facets"] = run_facets
    return {
        "eventType": event_type,
        "eventTime": event_time.astimezone(datetime.UTC).isoformat(timespec="milliseconds"),
        "producer": producer,
        "schemaURL": SCHEMA_URL,
        "run": run,
        "job": {"namespace": JOB_NAMESPACE, "name": job_name, "facets": {"jobType": job_type}},
        "inputs": [d.to_dict() for d in inputs],
        "outputs": [d.to_dict() for d in outputs],
    }
