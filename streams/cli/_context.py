"""Settings for commands that talk to Kafka and the registry.

Precedence: flags > environment / ``.env`` > a ``--profile`` > the platform ``mesh up`` started
(its state file, found by walking up from the current directory, so ``mesh up --free-ports``
needs no further configuration, from any subdirectory) > nothing: never the default ports.

A command fails at once, in one line, when what it talks to is not there: a recorded platform
whose broker or registry died, or a configured registry nothing listens at, are checked here;
Kafka is checked when the command builds its first client (:attr:`KafkaSettings.fail_fast`),
so a usage error still comes first.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import click

from streams.config import Settings, find_state_dir, load_settings
from streams.errors import PlatformNotRunningError, RegistryUnavailableError

__all__ = ["AS_IDENTITY", "cli_settings", "connection_settings", "registry_unreachable"]

_PROBE_TIMEOUT_S = 1.0
AS_IDENTITY = "streams.as_identity"
"""Where ``mesh --as NAME`` leaves NAME, in the click context's ``meta`` (shared by all)."""


def cli_settings(*, profile: str | None = None) -> Settings:
    """:func:`load_settings` with the identity ``mesh --as NAME`` chose, if any."""
    context = click.get_current_context(silent=True)
    as_identity = None if context is None else context.meta.get(AS_IDENTITY)
    return load_settings(profile=profile, as_identity=as_identity)


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
        check: Fail at once when the platform or registry is not there, and let Kafka clients
            do the same; off for commands that report reachability themselves (``mesh doctor``).

    Raises:
        PlatformNotRunningError: The recorded platform's broker or registry is dead.
        RegistryUnavailableError: Nothing accepts connections at the registry's address.
    """
    settings = cli_settings(profile=profile)
    kafka = settings.kafka
    registry = settings.registry
    if bootstrap_servers:
        kafka = kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
    if registry_url:
        registry = registry.model_copy(update={"url": registry_url})
    if check:
        kafka = kafka.failing_fast()
    settings = settings.model_copy(update={"kafka": kafka, "registry": registry})
    if check:
        _check_recorded(settings)
        _check_registry(settings)
    return settings


def registry_unreachable(url: str, reason: str) -> str:
    """The one line for a registry that does not answer."""
    return (
        f"the schema registry at {url} cannot be reached ({reason}); is the platform running "
        "(`mesh status`; `mesh up` restarts a dead registry)? Otherwise check registry.url "
        "(STREAMS_REGISTRY__URL)"
    )


def _check_recorded(settings: Settings) -> None:
    """A recorded platform we are about to use must still run: say which service died."""
    state_dir = find_state_dir(settings.local)
    from streams.local import status  # the platform's code: only when a command needs it

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


def _check_registry(settings: Settings) -> None:
    """A configured registry must accept connections (its client would retry for seconds)."""
    try:
        settings.registry.client_conf()
    except PlatformNotRunningError:
        return  # no registry configured: fails only if the command uses it
    url = settings.registry.url
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        with socket.create_connection(
            (parts.hostname or "", parts.port or default_port), timeout=_PROBE_TIMEOUT_S
        ):
            return
    except OSError as exc:
        raise RegistryUnavailableError(
            registry_unreachable(url, (exc.strerror or type(exc).__name__).lower()), url=url
        ) from exc
