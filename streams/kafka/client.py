"""Building librdkafka clients: the one place a refused configuration becomes a ConfigError.

librdkafka checks its configuration when a client is created (unknown or invalid properties,
TLS files OpenSSL cannot load) and raises ``KafkaException`` with ``_INVALID_ARG``. Every client
built from the settings goes through :func:`build_client`, so that refusal reaches the user as
one line naming the setting to fix (:meth:`KafkaSettings.refusal`), not as a traceback or as
"is the broker running?".

librdkafka's own log lines (hundreds of "Connect to ... failed" while a broker is down) would go
straight to stderr; every client built here hands them to the :data:`LIBRDKAFKA_LOGGER` logger
instead, which the CLI shows only with ``-v``.

Settings with :attr:`~streams.config.KafkaSettings.fail_fast` (the CLI's) also make every client
built here check first that a broker accepts TCP connections: a platform that is down is one
:class:`~streams.errors.BrokerUnavailableError` at once, not a wait for librdkafka's timeouts.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException

from streams.config import KafkaSettings
from streams.errors import BrokerUnavailableError, ConfigError

__all__ = ["LIBRDKAFKA_LOGGER", "build_client", "check_reachable", "librdkafka_logger"]

LIBRDKAFKA_LOGGER = "streams.kafka.librdkafka"
"""The logger librdkafka's log lines go to (records at librdkafka's syslog level)."""


def librdkafka_logger() -> logging.Logger:
    """The logger to pass as confluent-kafka's ``logger`` property."""
    return logging.getLogger(LIBRDKAFKA_LOGGER)


ClientT = TypeVar("ClientT")


def build_client(
    factory: Callable[[dict[str, Any]], ClientT],
    conf: Mapping[str, Any],
    *,
    settings: KafkaSettings,
) -> ClientT:
    """``factory(conf)`` (``Producer``, ``Consumer``, ``AdminClient``), refusals translated.

    Args:
        factory: The confluent-kafka client class.
        conf: Its configuration, built from ``settings`` (:meth:`KafkaSettings.librdkafka`).
        settings: The settings ``conf`` came from, to name the offending one.

    Raises:
        ConfigError: librdkafka refused the configuration.
        BrokerUnavailableError: ``settings.fail_fast`` and no broker accepts connections.
    """
    conf = {"logger": librdkafka_logger(), **conf}
    try:
        client = factory(conf)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if not isinstance(error, KafkaError) or error.code() != KafkaError._INVALID_ARG:
            raise
        raise ConfigError(settings.refusal(error.str())) from exc
    if settings.fail_fast:
        try:
            check_reachable(settings)
        except BrokerUnavailableError:
            close = getattr(client, "close", None)  # a Consumer; the others have nothing open
            if close is not None:
                close()
            raise
    return client


_PROBE_TIMEOUT_S = 1.0


def _can_connect(host: str, port: int) -> str | None:
    """None when something accepts a TCP connection at ``host:port``, else why not."""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            return None
    except OSError as exc:
        return (exc.strerror or type(exc).__name__).lower()


def check_reachable(settings: KafkaSettings) -> None:
    """Raise unless one of the bootstrap servers accepts a TCP connection (within ~1 s each).

    Raises:
        BrokerUnavailableError: None does; the message says how to find out why.
    """
    servers = [server.strip() for server in settings.bootstrap_servers.split(",")]
    reason = "no server given"
    for server in filter(None, servers):
        host, _, port = server.rpartition(":")
        found = _can_connect(host.strip("[]"), int(port)) if port.isdigit() else "no port"
        if found is None:
            return
        reason = found
    raise BrokerUnavailableError(
        f"Kafka at {settings.bootstrap_servers} cannot be reached ({reason}); is the platform "
        "running (`mesh status`, `mesh up`)? Otherwise check kafka.bootstrap_servers "
        "(STREAMS_KAFKA__BOOTSTRAP_SERVERS)",
        bootstrap_servers=settings.bootstrap_servers,
    )
