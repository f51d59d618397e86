"""What the platform functions return: plain frozen records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from streams.config import (
    BrokerKind,
    IdentitySettings,
    KafkaSettings,
    RegistrySettings,
    Settings,
)
from streams.identity import read_credential
from streams.local._state import ServiceName

__all__ = [
    "PlatformInfo",
    "PlatformStatus",
    "ServiceState",
    "ServiceStatus",
    "ServiceStop",
    "StopOutcome",
    "StopResult",
]

ServiceState = Literal["running", "stopped", "dead-but-recorded"]
StopOutcome = Literal["stopped", "killed", "already-dead", "not-ours"]


@dataclass(frozen=True, kw_only=True)
class PlatformInfo:
    """Where a running embedded platform answers.

    Attributes:
        bootstrap_servers: Kafka bootstrap address, ``host:port``.
        registry_url: Base URL of the schema registry.
        broker_pid: PID of the broker process.
        registry_pid: PID of the registry process.
        broker_log: The broker's log file.
        registry_log: The registry's log file.
        state_dir: Directory holding ``platform.json`` and ``logs/``.
        broker_kind: ``tansu`` (embedded, in memory) or ``kafka`` (Apache Kafka, durable).
        security_protocol: ``SASL_PLAINTEXT`` when the broker authenticates clients (with
            ``sasl_mechanism``), else ``PLAINTEXT``.
        sasl_mechanism: ``SCRAM-SHA-256`` on a broker that authenticates clients.
        already_running: True when :func:`start` found the platform running and left it alone.
        monitor_pid: PID of the guarantees monitor (None: started without it).
        monitor_log: The monitor's log file.
        monitor_restarted: True when :func:`start` found the platform running without its
            monitor and started the monitor again.
        registry_restarted: True when :func:`start` found the broker running but the registry
            dead, and started the registry again on its recorded port (the broker and its
            topics were left alone).
        auth: Whether the registry authenticates every request (``mesh up --no-auth``: not).
        admin_credential: The admin's credential file ``mesh up`` wrote or found (None: auth
            off, or the admin credential came from the settings).
        web_url: The web catalog's address (None: started without it, ``mesh up --no-web``).
        web_pid: PID of the web catalog.
        web_log: The web catalog's log file.
    """

    bootstrap_servers: str
    registry_url: str
    broker_pid: int
    registry_pid: int
    broker_log: Path
    registry_log: Path
    state_dir: Path
    broker_kind: BrokerKind = "tansu"
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256"] | None = None
    already_running: bool = False
    monitor_pid: int | None = None
    monitor_log: Path | None = None
    monitor_restarted: bool = False
    registry_restarted: bool = False
    auth: bool = False
    admin_credential: Path | None = None
    web_url: str | None = None
    web_pid: int | None = None
    web_log: Path | None = None

    def client_settings(self) -> Settings:
        """Settings of a client of this platform, acting as its admin when auth is on (the
        admin credential ``mesh up`` wrote); the environment fills in everything else."""
        kafka = KafkaSettings(bootstrap_servers=self.bootstrap_servers)
        registry = RegistrySettings(url=self.registry_url)
        if self.admin_credential is None:
            return Settings(kafka=kafka, registry=registry)
        identity = IdentitySettings(file=self.admin_credential)
        if self.sasl_mechanism is not None:
            admin = read_credential(self.admin_credential)
            kafka = KafkaSettings(
                bootstrap_servers=self.bootstrap_servers,
                security_protocol="SASL_PLAINTEXT",
                sasl_mechanism=self.sasl_mechanism,
                sasl_username=admin.name,
                sasl_password=SecretStr(admin.secret),
            )
        return Settings(kafka=kafka, registry=registry, identity=identity)

    def registry_conf(self, **overrides: str | int) -> dict[str, str | int]:
        """confluent-kafka's ``SchemaRegistryClient`` configuration for this platform, as its
        admin (``overrides`` as in :meth:`RegistrySettings.client_conf`)."""
        return self.client_settings().registry.client_conf(**overrides)


@dataclass(frozen=True, kw_only=True)
class ServiceStatus:
    """What ``status`` knows about one service.

    Attributes:
        name: ``broker`` or ``registry``.
        state: ``running``; ``stopped`` (nothing recorded); ``dead-but-recorded`` (recorded, but
            the process is gone or its PID now belongs to another program).
        address: Bootstrap address or URL, when recorded.
        pid: Recorded PID.
        log: Log file.
    """

    name: ServiceName
    state: ServiceState
    address: str | None = None
    pid: int | None = None
    log: Path | None = None


@dataclass(frozen=True, kw_only=True)
class PlatformStatus:
    """What ``status`` knows about the whole platform.

    Attributes:
        state_dir: The state directory inspected.
        services: Broker then registry.
        broker_kind: Which broker is recorded (``tansu`` or ``kafka``); None when none is.
        auth: Whether the recorded registry authenticates; None when none is recorded.
    """

    state_dir: Path
    services: tuple[ServiceStatus, ...]
    broker_kind: BrokerKind | None = None
    auth: bool | None = None

    @property
    def running(self) -> bool:
        """Whether the broker and the registry run (the monitor and the web catalog are
        optional: their own rows say whether they run)."""
        core = [service for service in self.services if service.name not in ("monitor", "web")]
        return bool(core) and all(service.state == "running" for service in core)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view.

        Returns:
            Plain data with paths as strings.
        """
        return {
            "state_dir": str(self.state_dir),
            "running": self.running,
            "broker_kind": self.broker_kind,
            "auth": self.auth,
            "services": [
                {
                    "name": s.name,
                    "state": s.state,
                    "address": s.address,
                    "pid": s.pid,
                    "log": None if s.log is None else str(s.log),
                }
                for s in self.services
            ],
        }


@dataclass(frozen=True, kw_only=True)
class ServiceStop:
    """What ``stop`` did to one service.

    Attributes:
        name: ``broker`` or ``registry``.
        pid: Recorded PID.
        outcome: ``stopped`` (SIGTERM), ``killed`` (SIGKILL needed), ``already-dead``, or
            ``not-ours`` (the PID now belongs to another program, left untouched).
    """

    name: ServiceName
    pid: int
    outcome: StopOutcome


@dataclass(frozen=True, kw_only=True)
class StopResult:
    """What ``stop`` did.

    Attributes:
        state_dir: The state directory whose platform was stopped.
        services: One entry per recorded service, registry first.
    """

    state_dir: Path
    services: tuple[ServiceStop, ...]
