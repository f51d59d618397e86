"""The local platform: a broker (Tansu, or Apache Kafka) and our registry as background processes.

``mesh up`` / ``mesh down`` / ``mesh status`` are thin wrappers over :func:`start`,
:func:`stop` and :func:`status`; tests use :class:`EmbeddedPlatform`. Processes are recorded in
``<state_dir>/platform.json`` and stopped by PID, never by name.
"""

from __future__ import annotations

from streams.local._kafka_dist import fetch as fetch_kafka
from streams.local._models import (
    PlatformInfo,
    PlatformStatus,
    ServiceState,
    ServiceStatus,
    ServiceStop,
    StopOutcome,
    StopResult,
)
from streams.local._platform import EmbeddedPlatform, start, status, stop

__all__ = [
    "EmbeddedPlatform",
    "PlatformInfo",
    "PlatformStatus",
    "ServiceState",
    "ServiceStatus",
    "ServiceStop",
    "StopOutcome",
    "StopResult",
    "fetch_kafka",
    "start",
    "status",
    "stop",
]
