"""Building librdkafka clients: the one place a refused configuration becomes a ConfigError.

librdkafka checks its configuration when a client is created (unknown or invalid properties,
TLS files OpenSSL cannot load) and raises ``KafkaException`` with ``_INVALID_ARG``. Every client
built from the settings goes through :func:`build_client`, so that refusal reaches the user as
one line naming the setting to fix (:meth:`KafkaSettings.refusal`), not as a traceback or as
"is the broker running?".

librdkafka's own log lines (hundreds of "Connect to ... failed" while a broker is down) would go
straight to stderr; every client built here hands them to the :data:`LIBRDKAFKA_LOGGER` logger
instead, which the CLI shows only with ``-v``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException

from streams.config import KafkaSettings
from streams.errors import ConfigError

__all__ = ["LIBRDKAFKA_LOGGER", "build_client", "librdkafka_logger"]

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
    """
    conf = {"logger": librdkafka_logger(), **conf}
    try:
        return factory(conf)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if not isinstance(error, KafkaError) or error.code() != KafkaError._INVALID_ARG:
            raise
        raise ConfigError(settings.refusal(error.str())) from exc
