"""What the embedded platform runs where: ports and the broker kind (Tansu or Apache Kafka)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from streams.config import LocalSettings
from streams.errors import PlatformError
from streams.identity import Credential
from streams.local import _kafka, _services
from streams.local._ports import check_port_free, find_free_port
from streams.local._state import PlatformState

__all__ = ["broker_command", "choose_broker", "choose_ports"]

logger = logging.getLogger(__name__)


def choose_ports(settings: LocalSettings, *, free_ports: bool) -> tuple[int, int, int]:
    """Broker, registry and (Kafka only, else 0) KRaft controller ports."""
    host = settings.host
    kafka = settings.broker == "kafka"
    if free_ports:
        broker_port = find_free_port(host)
        registry_port = find_free_port(host, exclude=frozenset({broker_port}))
        if not kafka:
            return broker_port, registry_port, 0
        return (
            broker_port,
            registry_port,
            find_free_port(host, exclude=frozenset({broker_port, registry_port})),
        )
    wanted = [settings.broker_port, settings.registry_port]
    if kafka:
        wanted.append(settings.controller_port)
    if len(set(wanted)) != len(wanted):
        raise PlatformError(
            f"the broker, the registry (and Kafka's controller) cannot share ports {wanted}; "
            "pass different --broker-port and --registry-port (and STREAMS_LOCAL__CONTROLLER_PORT)"
        )
    check_port_free(host, settings.broker_port, flag="--broker-port")
    check_port_free(host, settings.registry_port, flag="--registry-port")
    if kafka:
        check_port_free(
            host,
            settings.controller_port,
            flag="another port in STREAMS_LOCAL__CONTROLLER_PORT (Kafka's controller)",
        )
    return settings.broker_port, settings.registry_port, settings.controller_port if kafka else 0


def broker_command(
    settings: LocalSettings,
    *,
    state_dir: Path,
    port: int,
    controller_port: int,
    env: Mapping[str, str],
    deadline: float,
    admin: Credential | None = None,
) -> list[str]:
    """The broker's command line; for Kafka also checks Java and the jars and formats storage
    (with ``admin``, Kafka authenticates clients and enforces ACLs; Tansu cannot)."""
    host = settings.host
    if settings.broker == "tansu":
        return _services.broker_command(_services.resolve_broker_binary(), host=host, port=port)
    return _kafka.prepare(
        settings,
        state_dir=state_dir,
        port=port,
        controller_port=controller_port,
        env=env,
        deadline=deadline,
        admin=admin,
    )


def choose_broker(
    settings: LocalSettings, state_dir: Path, existing: PlatformState | None
) -> LocalSettings:
    """The broker kind to run: the running one, else Kafka where its data is, else the setting.

    Only an explicit choice (flag, environment, profile) can differ from what the state
    directory holds, and then it is refused rather than starting an empty broker beside the data.
    """
    chosen = "broker" in settings.model_fields_set
    if existing is not None:
        if chosen and existing.broker_kind != settings.broker:
            raise PlatformError(
                f"a platform on {existing.broker_kind} is already running in {state_dir}; "
                f"run `mesh down` before `mesh up --broker {settings.broker}`"
            )
        return settings.model_copy(update={"broker": existing.broker_kind})
    if not _kafka.holds_data(state_dir):
        return settings
    if chosen and settings.broker != "kafka":
        raise PlatformError(
            f"{state_dir} holds Apache Kafka's data from an earlier `mesh up --broker kafka`; "
            f"`mesh up --state-dir {state_dir}` starts that Kafka again (data kept), or choose "
            f"another --state-dir for {settings.broker}"
        )
    if not chosen:
        logger.warning(
            "starting Apache Kafka: %s holds its data from an earlier `mesh up --broker kafka`",
            state_dir,
        )
    return settings.model_copy(update={"broker": "kafka"})
