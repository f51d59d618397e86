"""The state file ``<state_dir>/platform.json`` recording what ``mesh up`` started."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from streams.config import BrokerKind
from streams.errors import PlatformError

__all__ = [
    "STATE_FILE",
    "PlatformState",
    "ServiceName",
    "ServiceRecord",
    "read_state",
    "remove_state",
    "state_path",
    "write_state",
]

STATE_FILE = "platform.json"

ServiceName = Literal["broker", "registry", "monitor", "web"]


class ServiceRecord(BaseModel):
    """One background process of the platform."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ServiceName
    pid: int
    host: str
    port: int
    address: str
    log: Path
    command: list[str]
    started_at: datetime
    created: float | None = None  # the process's start time (psutil), against recycled PIDs
    ready_ms: int | None = None


class PlatformState(BaseModel):
    """Everything ``mesh down`` and ``mesh status`` need to find the platform again."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = 1
    bootstrap_servers: str
    registry_url: str
    state_dir: Path
    broker_kind: BrokerKind = "tansu"
    # How clients authenticate to the broker: PLAINTEXT (none), or SASL_PLAINTEXT with the
    # mechanism named (Apache Kafka with `local.auth`); credentials are never recorded here.
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256"] | None = None
    started_at: datetime
    broker: ServiceRecord
    registry: ServiceRecord
    monitor: ServiceRecord | None = None  # absent: started with --no-monitor (or before it)
    auth: bool = False  # the registry authenticates (absent: recorded before it could)
    web: ServiceRecord | None = None  # absent: started with --no-web (or before it)

    @property
    def services(self) -> tuple[ServiceRecord, ...]:
        """The recorded services in start order."""
        extra = tuple(record for record in (self.monitor, self.web) if record is not None)
        return (self.broker, self.registry, *extra)


def state_path(state_dir: Path) -> Path:
    """Where the state file of ``state_dir`` lives.

    Args:
        state_dir: The platform's state directory.

    Returns:
        The path of ``platform.json``.
    """
    return state_dir / STATE_FILE


def read_state(state_dir: Path) -> PlatformState | None:
    """Load the state file.

    Args:
        state_dir: The platform's state directory.

    Returns:
        The recorded state, or None when there is no state file.

    Raises:
        PlatformError: The file exists but cannot be parsed.
    """
    path = state_path(state_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return PlatformState.model_validate_json(raw)
    except ValidationError as exc:
        raise PlatformError(
            f"{path} is not a valid platform state file ({exc.error_count()} problems); "
            "stop the processes it names yourself, then delete it"
        ) from exc


def write_state(state: PlatformState) -> Path:
    """Write the state file atomically.

    Args:
        state: What to record.

    Returns:
        The path written.
    """
    path = state_path(state.state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(state.model_dump_json(indent=2) + "\n")
    os.replace(tmp, path)
    return path


def remove_state(state_dir: Path) -> None:
    """Delete the state file if present.

    Args:
        state_dir: The platform's state directory.
    """
    state_path(state_dir).unlink(missing_ok=True)
