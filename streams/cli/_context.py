"""Settings for commands that talk to Kafka and the registry.

Precedence: flags > environment / ``.env`` > a ``--profile`` > the platform ``mesh up`` started
(its state file, found by walking up from the current directory, so ``mesh up --free-ports``
needs no further configuration, from any subdirectory) > nothing: never the default ports.

Before a command starts, :func:`connection_settings` checks that what it will talk to is there,
in well under 3 s: a recorded platform whose processes died, or an address where nothing
accepts a TCP connection, is one line and exit 3 rather than a long wait and librdkafka's
retries.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from confluent_kafka.admin import AdminClient

from streams.config import Settings, find_state_dir, load_settings
from streams.errors import BrokerUnavailableError, PlatformNotRunningError, RegistryUnavailableError
from streams.kafka.client import build_client
from streams.local import status

__all__ = ["connection_settings"]

_PROBE_TIMEOUT_S = 1.0


def connection_settings(
    *,
    bootstrap_servers: str | None = None,
    registry_url: str | None = None,
    profile: str | None = None,
    check: bool = True,
) -> Settings:
    """Settings whose Kafka and registry addresses follow the precedence above.

    Args:
        bootstrap_servers: The ``--bootstrap-servers`` flag.
        registry_url: The ``--registry-url`` flag.
        profile: The ``--profile`` flag.
        check: Fail at once when Kafka (or a configured registry) cannot be reached; off for
            commands that report reachability themselves (``mesh doctor``).

    Raises:
        PlatformNotRunningError: No address is configured and no platform recorded, or the
            recorded platform's broker or registry is dead.
        BrokerUnavailableError: Nothing accepts connections at Kafka's address.
        RegistryUnavailableError: Nothing accepts connections at the registry's address.
        ConfigError: librdkafka refuses the Kafka settings.
    """
    settings = load_settings(profile=profile)
    kafka = settings.kafka
    registry = settings.registry
    if bootstrap_servers:
        kafka = kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
    if registry_url:
        registry = registry.model_copy(update={"url": registry_url})
    settings = settings.model_copy(update={"kafka": kafka, "registry": registry})
    if check:
        _check_recorded(settings)
        _check_reachable(settings)
    return settings


def _check_recorded(settings: Settings) -> None:
    """A recorded platform we are about to use must still run: say which service died."""
    state_dir = find_state_dir(settings.local)
    recorded = status(state_dir)
    used = {"broker": settings.kafka.bootstrap_servers, "registry": settings.registry.url}
    for service in recorded.services:
        if service.name not in used or service.address != used[service.name]:
            continue
        if service.state != "running":
            fix = (
                "`mesh up` starts it again"
                if service.name == "registry"
                else "run `mesh down`, then `mesh up`"
            )
            raise PlatformNotRunningError(
                f"the {service.name} of the platform in {state_dir} ({service.address}) is not "
                f"running; {fix} (`mesh status` shows the platform)"
            )


def _can_connect(host: str, port: int) -> str | None:
    """None when something accepts a TCP connection at ``host:port``, else why not."""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _check_reachable(settings: Settings) -> None:
    kafka = settings.kafka
    # Builds the client configuration first, so a refused setting is named as such (ConfigError)
    # and an address nobody set is reported as that, not as "unreachable".
    build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    servers = [server.strip() for server in kafka.bootstrap_servers.split(",") if server.strip()]
    reasons = []
    for server in servers:
        host, _, port = server.rpartition(":")
        reason = _can_connect(host.strip("[]"), int(port)) if port.isdigit() else "no port"
        if reason is None:
            break
        reasons.append(reason)
    else:
        raise BrokerUnavailableError(
            f"Kafka at {kafka.bootstrap_servers} cannot be reached ({reasons[-1].lower()}); is "
            "the platform running (`mesh status`, `mesh up`)? Otherwise check "
            "kafka.bootstrap_servers (STREAMS_KAFKA__BOOTSTRAP_SERVERS)",
            bootstrap_servers=kafka.bootstrap_servers,
        )
    try:
        settings.registry.client_conf()
    except PlatformNotRunningError:
        return  # no registry configured: fails only if the command uses it
    url = settings.registry.url
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    reason = _can_connect(parts.hostname or "", parts.port or default_port)
    if reason is not None:
        raise RegistryUnavailableError(
            f"the schema registry at {url} cannot be reached ({reason.lower()}); is the "
            "platform running (`mesh status`; `mesh up` restarts a dead registry)? Otherwise "
            "check registry.url (STREAMS_REGISTRY__URL)",
            url=url,
        )
