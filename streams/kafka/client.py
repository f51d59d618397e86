"""Building librdkafka clients: the one place a refused configuration becomes a ConfigError.

librdkafka checks its configuration when a client is created (unknown or invalid properties,
TLS files OpenSSL cannot load) and raises ``KafkaException`` with ``_INVALID_ARG``. Every client
built from the settings goes through :func:`build_client`, so that refusal reaches the user as
one line naming the setting to fix (:meth:`KafkaSettings.refusal`), not as a traceback or as
"is the broker running?".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException

from streams.config import KafkaSettings
from streams.errors import ConfigError

__all__ = ["build_client"]

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
    try:
        return factory(dict(conf))
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if not isinstance(error, KafkaError) or error.code() != KafkaError._INVALID_ARG:
            raise
        raise ConfigError(settings.refusal(error.str())) from exc
