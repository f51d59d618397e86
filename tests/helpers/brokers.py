"""Which brokers the integration tests run on, and whether Apache Kafka can run here.

Every test that uses the ``platform`` fixture runs once per broker kind (``STREAMS_TEST_BROKERS=
kafka`` narrows that while developing). The Kafka tier needs
Java 17+ and the Kafka jars (fetched once with Maven into the usual cache when missing); when it
cannot run, its tests are skipped with one reason, unless ``STREAMS_TEST_REQUIRE_KAFKA=1`` (set by
``.ci/run``) turns that into a failure so CI never skips it silently.
"""

from __future__ import annotations

import functools
import os

import pytest

from streams.config import BrokerKind, IdentitySettings, LocalSettings, Settings
from streams.errors import PlatformStartError
from streams.identity import Credential
from streams.local import PlatformInfo, fetch_kafka
from streams.local._kafka import find_java
from streams.local._kafka_dist import resolve_libs

ALL_BROKERS: tuple[BrokerKind, ...] = ("tansu", "kafka")
REQUIRE_KAFKA = "STREAMS_TEST_REQUIRE_KAFKA"
ONLY_BROKERS = "STREAMS_TEST_BROKERS"


def brokers() -> tuple[BrokerKind, ...]:
    """The kinds to run on: all, or those named in ``STREAMS_TEST_BROKERS`` (e.g. ``kafka``)."""
    named = os.environ.get(ONLY_BROKERS, "").replace(",", " ").split()
    unknown = sorted(set(named) - set(ALL_BROKERS))
    if unknown:
        raise pytest.UsageError(f"{ONLY_BROKERS} names unknown brokers {unknown}; use tansu, kafka")
    return tuple(kind for kind in ALL_BROKERS if not named or kind in named)


@functools.cache
def _kafka_problem() -> str | None:
    """Why Apache Kafka cannot run here (None when it can), fetching its jars at most once."""
    settings = Settings().local
    try:
        find_java(os.environ)
        try:
            resolve_libs(settings)
        except PlatformStartError:
            if settings.kafka_home is not None:
                raise
            fetch_kafka(
                version=settings.kafka_version, cache_dir=settings.kafka_cache_dir, env=os.environ
            )
    except PlatformStartError as exc:
        return str(exc).splitlines()[0]
    return None


def kafka_settings(**update: object) -> LocalSettings:
    """Local settings for a Kafka platform, or skip (fail under ``STREAMS_TEST_REQUIRE_KAFKA``).

    Args:
        update: Fields to set on top (e.g. ``state_dir``; ``kafka_sasl=True`` for SASL and ACLs).

    Returns:
        Settings with ``broker="kafka"``, ``kafka_sasl=False`` unless updated, and the configured
        Kafka home or cache.
    """
    problem = _kafka_problem()
    if problem is not None:
        if os.environ.get(REQUIRE_KAFKA, "") not in ("", "0"):
            pytest.fail(f"Apache Kafka tier required ({REQUIRE_KAFKA} is set): {problem}")
        pytest.skip(f"Apache Kafka tier skipped: {problem}")
    # The registry authenticates, Kafka stays PLAINTEXT unless a test asks for SASL
    # (kafka_sasl=True): the tests' raw Kafka clients carry no credentials.
    # No web catalog: it would refresh its snapshot from Kafka every few seconds for the whole
    # session (the web tests start their own).
    return Settings().local.model_copy(
        update={"broker": "kafka", "kafka_sasl": False, "web": False, **update}
    )


def platform_settings(kind: BrokerKind, **update: object) -> LocalSettings:
    """Local settings for a platform on ``kind`` (see :func:`kafka_settings` for Kafka).

    Args:
        kind: ``tansu`` or ``kafka``.
        update: Fields to set on top.

    Returns:
        The settings.
    """
    if kind == "kafka":
        return kafka_settings(**update)
    return LocalSettings(broker="tansu", web=False).model_copy(update=update)


def settings_as(platform: PlatformInfo, who: Credential | None) -> Settings:
    """Client settings for ``platform`` acting as ``who`` (None: the platform's admin)."""
    base = platform.client_settings()
    if who is None:
        return base
    identity = IdentitySettings(name=who.name, secret=who.secret)  # type: ignore[arg-type]
    return Settings(
        kafka=base.kafka,
        registry={"url": platform.registry_url},  # type: ignore[arg-type]
        identity=identity,
    )
