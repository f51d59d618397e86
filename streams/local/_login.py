"""How the platform's own processes identify themselves: the admin, to the registry and broker.

With authentication on (``local.auth``) the registry runs as the admin (it seals the mesh's
control-plane records and answers as the authority), and on Apache Kafka the registry and the
monitor log in to the broker as the admin's SCRAM user. The admin's secret comes from the
configured identity or ``<state_dir>/credentials/admin.json`` and reaches them through their
environment, never on a command line that ``ps`` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from streams.config import BrokerKind, KafkaSettings, SaslMechanism, credential_path
from streams.errors import ConfigError
from streams.identity import ADMIN, Credential, read_credential
from streams.local._credentials import admin_credential
from streams.local._state import PlatformState
from streams.pii import KEYS_DIR

__all__ = ["broker_client", "platform_admin", "recorded_env", "service_env"]


def platform_admin(
    auth: bool, state_dir: Path, admin: Credential | None
) -> tuple[Credential | None, Path | None]:
    """The admin credential the platform's services run as, and its file when ``mesh up``
    keeps it: ``admin`` when configured, else ``<state_dir>/credentials/admin.json``, written
    (0600) the first time. ``(None, None)`` without authentication.

    Raises:
        ConfigError: The configured identity is not the admin, or the file is not usable.
    """
    if not auth:
        return None, None
    path = credential_path(state_dir, ADMIN)
    if admin is None:
        return admin_credential(state_dir), path
    if not admin.is_admin:
        raise ConfigError(
            f"`mesh up` runs the registry as the admin, but the configured identity is "
            f"{admin.name!r}; unset STREAMS_IDENTITY__* (mesh up then writes the admin's "
            "credential) or configure the admin's"
        )
    same = path.exists() and read_credential(path) == admin
    return admin, path if same else None


def service_env(
    env: Mapping[str, str],
    *,
    auth: bool,
    admin: Credential | None,
    admin_file: Path | None,
    sasl_mechanism: str | None,
    broker_kind: BrokerKind,
    keys_dir: Path | None = None,
) -> dict[str, str]:
    """The environment of the registry and the monitor.

    ``env`` without the Kafka settings and the identity exported for another cluster or user
    (the services read whole setting groups), plus the registry's auth switch, the broker's
    kind (the registry never asks Tansu for ACLs, which would abort it), the admin identity
    (its file when there is one), where the registry keeps the mesh's KEK and pseudonym key
    (``keys_dir``: it alone holds them) and, on a broker that authenticates clients, the
    admin's SASL login.
    """
    clean = {
        k: v
        for k, v in env.items()
        if not k.startswith("STREAMS_KAFKA") and not k.startswith("STREAMS_IDENTITY__")
    }
    clean["STREAMS_REGISTRY__AUTH"] = "true" if auth else "false"
    clean["STREAMS_REGISTRY__BROKER_KIND"] = broker_kind
    if keys_dir is not None:
        clean["STREAMS_REGISTRY__KEYS_DIR"] = str(keys_dir)
    if admin is not None and admin_file is not None:
        clean["STREAMS_IDENTITY__FILE"] = str(admin_file)
    elif admin is not None:
        clean["STREAMS_IDENTITY__NAME"] = admin.name
        clean["STREAMS_IDENTITY__SECRET"] = admin.secret
    if sasl_mechanism is None or admin is None:
        return clean
    return clean | {
        "STREAMS_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "STREAMS_KAFKA__SASL_MECHANISM": sasl_mechanism,
        "STREAMS_KAFKA__SASL_USERNAME": admin.name,
        "STREAMS_KAFKA__SASL_PASSWORD": admin.secret,
    }


def recorded_env(
    env: Mapping[str, str], state: PlatformState, *, admin: Credential | None = None
) -> tuple[Path | None, dict[str, str]]:
    """The admin's file and :func:`service_env` for a recorded platform (restarting one of
    its services)."""
    credential, path = platform_admin(state.auth, state.state_dir, admin)
    found = service_env(
        env,
        auth=state.auth,
        admin=credential,
        admin_file=path,
        sasl_mechanism=state.sasl_mechanism,
        broker_kind=state.broker_kind,
        keys_dir=state.state_dir / KEYS_DIR,
    )
    return path, found


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
