"""How the platform's own processes log in to its broker.

A broker started with authentication (Apache Kafka with ``local.auth``) accepts only SASL
logins; the registry and the monitor started beside it log in as the admin, whose secret is read
from ``<state_dir>/credentials/admin.json`` and handed to them in their environment.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from streams.config import KafkaSettings, SaslMechanism
from streams.identity import Credential

__all__ = ["broker_client", "service_env"]


def service_env(
    env: Mapping[str, str], *, sasl_mechanism: str | None, admin: Credential | None
) -> dict[str, str]:
    """The environment of the registry and the monitor: ``env`` without the Kafka settings
    exported for another cluster (the services read the whole ``kafka`` settings), plus, on a
    broker that authenticates clients, the admin's SASL login (in the environment, never on a
    command line that ``ps`` shows)."""
    clean = {k: v for k, v in env.items() if not k.startswith("STREAMS_KAFKA")}
    if sasl_mechanism is None or admin is None:
        return clean
    return clean | {
        "STREAMS_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "STREAMS_KAFKA__SASL_MECHANISM": sasl_mechanism,
        "STREAMS_KAFKA__SASL_USERNAME": admin.name,
        "STREAMS_KAFKA__SASL_PASSWORD": admin.secret,
    }


def broker_client(
    bootstrap_servers: str, *, sasl_mechanism: SaslMechanism | None, admin: Credential | None
) -> KafkaSettings:
    """How the platform itself talks to its broker (to wait for it): as the admin on SASL."""
    if sasl_mechanism is None or admin is None:
        return KafkaSettings(bootstrap_servers=bootstrap_servers)
    return KafkaSettings(
        bootstrap_servers=bootstrap_servers,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=sasl_mechanism,
        sasl_username=admin.name,
        sasl_password=SecretStr(admin.secret),
    )
