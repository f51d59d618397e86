"""Settings: one frozen pydantic-settings tree.

Precedence is flags > environment (``STREAMS_`` prefix, ``__`` between levels, e.g.
``STREAMS_KAFKA__BOOTSTRAP_SERVERS``) > ``.env`` > a profile (:func:`load_settings`) >
defaults. Library code receives a :class:`Settings` object; it never reads ``os.environ``
itself.

The connection settings are translated to client configurations in exactly one place each:
:meth:`KafkaSettings.librdkafka` (the dotted librdkafka dict) and
:meth:`RegistrySettings.client_conf` (confluent-kafka's ``SchemaRegistryClient`` dict).
Secrets are :class:`~pydantic.SecretStr`, so printing or logging the settings masks them.

Addresses are never silently the defaults: :func:`load_settings` takes Kafka's and the
registry's address from the settings when they are set, else from the platform ``mesh up``
recorded (``.mesh/platform.json``, found by walking up from the current directory, see
:func:`find_state_dir`); when neither says where they are, the first client built from them
fails with one line naming what was looked for and how to fix it.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from streams.errors import ConfigError, PlatformNotRunningError
from streams.identity import ADMIN, Credential, check_identity_name, read_credential

__all__ = [
    "CREDENTIALS_DIR",
    "PROFILE_FILES",
    "BrokerKind",
    "IdentitySettings",
    "KafkaSettings",
    "LocalSettings",
    "MonitorSettings",
    "RegistrySettings",
    "SaslMechanism",
    "SecurityProtocol",
    "Settings",
    "credential_path",
    "find_state_dir",
    "load_settings",
]

BrokerKind = Literal["tansu", "kafka"]
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]

PROFILE_FILES: tuple[Path, ...] = (Path("mesh.toml"), Path("~/.config/streams/profiles.toml"))
"""Where ``--profile NAME`` looks, first match wins: ``mesh.toml`` in the current directory or
the nearest parent that has one (as the platform is found), then the user's file."""

LibrdkafkaValue = str | int | float | bool


def _check_file(setting: str, path: Path | None) -> None:
    if path is not None and not path.expanduser().is_file():
        raise ValueError(
            f"{setting}: file {str(path)!r} does not exist; give the path of a readable file"
        )


def _variable(setting: str) -> str:
    """The environment variable of a dotted setting: ``kafka.extra`` -> ``STREAMS_KAFKA__EXTRA``."""
    return "STREAMS_" + setting.upper().replace(".", "__")


def _named(setting: str) -> str:
    return f"{setting} ({_variable(setting)})"


# What a PEM file that OpenSSL accepts for each setting starts a block with.
_PEM_BLOCKS = {
    "ssl_ca_location": ("CERTIFICATE", "certificate", "x509"),
    "ssl_certificate_location": ("CERTIFICATE", "certificate", "x509"),
    "ssl_key_location": ("PRIVATE KEY", "private key", "pkey"),
}


def _check_pem(setting: str, path: Path | None) -> None:
    """A TLS file must exist and hold a PEM block of its kind; librdkafka reads PEM only."""
    if path is None:
        return
    name = setting.rpartition(".")[2]
    if not path.expanduser().is_file():
        raise ValueError(
            f"{_named(setting)}: file {str(path)!r} does not exist; give the path of a readable "
            "file"
        )
    block, what, tool = _PEM_BLOCKS[name]
    try:
        text = path.expanduser().read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ValueError(f"{_named(setting)}: cannot read {str(path)!r}: {exc}") from exc
    if not re.search(rf"-----BEGIN [A-Z0-9 ]*{block}-----", text):
        raise ValueError(
            f"{_named(setting)}: {str(path)!r} holds no PEM {what} (no '-----BEGIN ... {block}"
            f"-----' line); give the {what} in PEM form (`openssl {tool} -inform der` converts "
            "DER)"
        )


class KafkaSettings(BaseModel):
    """How to reach Kafka."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        description="Kafka's address, host:port[,host:port...]; unset, the platform `mesh up` "
        "recorded.",
    )
    session_timeout_ms: int = Field(
        default=6000,
        description="Short by default: the embedded broker holds group joins for half of it.",
    )
    security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", description="How clients talk to the brokers."
    )
    sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="Required with SASL_PLAINTEXT and SASL_SSL."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (a secret: masked when printed)."
    )
    ssl_ca_location: Path | None = Field(
        default=None, description="CA bundle (PEM) that signed the brokers' certificates."
    )
    ssl_certificate_location: Path | None = Field(
        default=None, description="Client certificate (PEM), for mutual TLS."
    )
    ssl_key_location: Path | None = Field(default=None, description="Client private key (PEM).")
    ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of the client private key, if encrypted."
    )
    ssl_endpoint_identification: bool = Field(
        default=True, description="Check that the broker certificate names the host (https)."
    )
    extra: dict[str, LibrdkafkaValue] = Field(
        default_factory=dict,
        description="Escape hatch: raw librdkafka properties, applied over the typed ones.",
    )
    # Set by load_settings when neither the settings nor a recorded platform name the brokers:
    # why, and how to fix it. Setting bootstrap_servers (model_copy(update=...)) clears it.
    _unresolved: str | None = PrivateAttr(default=None)
    _fail_fast: bool = PrivateAttr(default=False)

    @property
    def fail_fast(self) -> bool:
        """Whether a client built from these settings first checks that a broker accepts
        connections (:func:`streams.kafka.client.build_client`), failing at once otherwise."""
        return self._fail_fast

    def failing_fast(self) -> KafkaSettings:
        """These settings with :attr:`fail_fast` on: what a command line wants (an unreachable
        Kafka is one line at once), not a long-running application (which lets librdkafka
        retry until the broker is back)."""
        copy = self.model_copy()
        copy._fail_fast = True
        return copy

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        prefix = "kafka."
        if sasl and self.sasl_mechanism is None:
            raise ValueError(
                f"{prefix}sasl_mechanism: security_protocol {self.security_protocol} needs a "
                "SASL mechanism; set STREAMS_KAFKA__SASL_MECHANISM to PLAIN, SCRAM-SHA-256, "
                "SCRAM-SHA-512 or OAUTHBEARER"
            )
        if sasl and self.sasl_mechanism != "OAUTHBEARER":
            for name in ("sasl_username", "sasl_password"):
                if getattr(self, name) is None:
                    raise ValueError(
                        f"{prefix}{name}: SASL mechanism {self.sasl_mechanism} needs a user "
                        f"name and password; set STREAMS_KAFKA__{name.upper()}"
                    )
        if not sasl and self.sasl_mechanism is not None:
            raise ValueError(
                f"{prefix}sasl_mechanism: set but security_protocol is "
                f"{self.security_protocol}; use SASL_PLAINTEXT or SASL_SSL, or drop it"
            )
        if (self.ssl_certificate_location is None) != (self.ssl_key_location is None):
            raise ValueError(
                f"{prefix}ssl_certificate_location / ssl_key_location: mutual TLS needs both "
                "the client certificate and its key"
            )
        for name in _PEM_BLOCKS:
            _check_pem(prefix + name, getattr(self, name))
        return self

    def refusal(self, reason: str) -> str:
        """Explain librdkafka's refusal of :meth:`librdkafka`'s dict, naming the setting to fix.

        Args:
            reason: librdkafka's message, e.g. ``No such configuration property: "x"`` or
                ``Failed to create producer: ssl.ca.location failed: ...``.

        Returns:
            One line starting with the setting (``kafka.extra (STREAMS_KAFKA__EXTRA)``).
        """
        reason = " ".join(reason.split())
        match = re.search(r'property "([^"]+)"|: ([a-z.]+) failed:', reason)
        refused = next((group for group in match.groups() if group), "") if match else ""
        typed = {
            "ssl.ca.location": "ssl_ca_location",
            "ssl.certificate.location": "ssl_certificate_location",
            "ssl.key.location": "ssl_key_location",
            "ssl.key.password": "ssl_key_password",
            "security.protocol": "security_protocol",
            "sasl.mechanism": "sasl_mechanism",
            "sasl.mechanisms": "sasl_mechanism",
            "bootstrap.servers": "bootstrap_servers",
        }
        # librdkafka names an alias by its canonical property (acks -> request.required.acks),
        # so a refusal of a property we do not set ourselves comes from the escape hatch.
        if refused in self.extra or (refused not in typed and self.extra):
            return (
                f"{_named('kafka.extra')}: librdkafka refused it: {reason}; fix or drop that "
                "property (librdkafka's CONFIGURATION.md lists the valid ones)"
            )
        if refused in typed:
            return f"{_named('kafka.' + typed[refused])}: librdkafka refused it: {reason}"
        return f"the Kafka client configuration was refused by librdkafka: {reason}"

    def librdkafka(self, **overrides: LibrdkafkaValue) -> dict[str, LibrdkafkaValue]:
        """The dotted librdkafka configuration: the one place it is built.

        Args:
            overrides: Per-client properties, underscores for dots (``group_id="g"``).

        Raises:
            PlatformNotRunningError: :func:`load_settings` found no address for Kafka (neither
                set nor recorded by ``mesh up``); the message says where it looked.
        """
        if self._unresolved is not None and "bootstrap_servers" not in self.model_fields_set:
            raise PlatformNotRunningError(self._unresolved)
        conf: dict[str, LibrdkafkaValue] = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol != "PLAINTEXT":
            conf["security.protocol"] = self.security_protocol
        if self.sasl_mechanism is not None:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        files = {
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
        }
        conf.update({key: str(path.expanduser()) for key, path in files.items() if path})
        if self.ssl_key_password is not None:
            conf["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        if self.security_protocol.endswith("SSL") and not self.ssl_endpoint_identification:
            conf["ssl.endpoint.identification.algorithm"] = "none"
        conf.update(self.extra)
        conf.update({key.replace("_", "."): value for key, value in overrides.items()})
        return conf


class RegistrySettings(BaseModel):
    """How to reach (and how to run) the schema registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(
        default="http://127.0.0.1:8081",
        description="The registry's URL; unset, the platform `mesh up` recorded.",
    )
    topic: str = Field(default="_schemas", description="Compacted topic that stores the registry.")
    basic_auth_username: str | None = Field(
        default=None, description="HTTP Basic user; unset, the identity's name."
    )
    basic_auth_password: SecretStr | None = Field(
        default=None, description="HTTP Basic password; unset, the identity's secret."
    )
    ssl_ca_location: Path | None = Field(
        default=None, description="CA bundle (PEM) that signed the registry's certificate."
    )
    advertised_url: str | None = Field(
        default=None,
        description="`mesh registry serve`: the URL other instances forward writes to when "
        "this one is the primary (default: http://HOST:PORT).",
    )
    local_kms_secret: SecretStr | None = Field(
        default=None,
        description="The secret of Confluent's local KMS (kmsType 'local-kms'): it wraps the "
        "data keys of fields that schemas' ENCRYPT rules encrypt (confluent-kafka's "
        "LOCAL_SECRET / rule.conf 'secret').",
    )
    auth: bool = Field(
        default=True,
        description="`mesh registry serve`: authenticate every request (HTTP Basic) and let a "
        "domain change only its own products' subjects; the registry then runs as the admin.",
    )
    anonymous_reads: bool = Field(
        default=False,
        description="`mesh registry serve` with auth: let requests without credentials read.",
    )
    keys_dir: Path | None = Field(
        default=None,
        description="`mesh registry serve`: the directory of the mesh's key-encryption key "
        "(kek.json) and pseudonym key (pseudonym.json), created 0600 the first time; the "
        "registry is their only holder and serves /mesh/v1/keys (`mesh up`: "
        "<state_dir>/keys). Unset: no key service.",
    )
    broker_kind: BrokerKind | None = Field(
        default=None,
        description="`mesh registry serve`: the kind of broker it runs on (`mesh up` sets it). "
        "On tansu it never calls the ACL API (that aborts the process) and reports broker "
        "ACLs as not enforced; unset, it asks the broker once whether it enforces ACLs.",
    )
    # As KafkaSettings._unresolved, for the registry's url.
    _unresolved: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> RegistrySettings:
        if (self.basic_auth_username is None) != (self.basic_auth_password is None):
            raise ValueError(
                "registry.basic_auth_username / registry.basic_auth_password: basic auth needs "
                "both; set STREAMS_REGISTRY__BASIC_AUTH_USERNAME and ..._PASSWORD"
            )
        _check_file("registry.ssl_ca_location", self.ssl_ca_location)
        return self

    def http_options(self) -> dict[str, Any]:
        """``httpx.Client`` arguments for the registry's own routes (``/mesh/v1``): the same
        URL, credentials and CA as :meth:`client_conf`, from which they are taken.

        Raises:
            PlatformNotRunningError: :func:`load_settings` found no address for the registry.
        """
        conf = self.client_conf()
        url = str(conf["url"]).rstrip("/")
        userinfo = conf.get("basic.auth.user.info")
        auth = tuple(userinfo.partition(":")[::2]) if isinstance(userinfo, str) else None
        verify: str | bool = str(conf["ssl.ca.location"]) if "ssl.ca.location" in conf else True
        if url.startswith("http://"):
            # No TLS to verify: skips loading the CA bundle (40 ms per client, paid by every
            # Producer and Consumer of a protected product; scripts/bench events).
            verify = False
        return {"base_url": url, "auth": auth, "verify": verify, "trust_env": False}

    def client_conf(self, **overrides: str | int) -> dict[str, str | int]:
        """The ``SchemaRegistryClient`` configuration: the one place it is built.

        Args:
            overrides: Further client properties, underscores for dots (``max_retries=0``).

        Raises:
            PlatformNotRunningError: :func:`load_settings` found no address for the registry.
        """
        if self._unresolved is not None and "url" not in self.model_fields_set:
            raise PlatformNotRunningError(self._unresolved)
        conf: dict[str, str | int] = {"url": self.url}
        if self.basic_auth_username is not None and self.basic_auth_password is not None:
            secret = self.basic_auth_password.get_secret_value()
            conf["basic.auth.user.info"] = f"{self.basic_auth_username}:{secret}"
        if self.ssl_ca_location is not None:
            conf["ssl.ca.location"] = str(self.ssl_ca_location.expanduser())
        conf.update({key.replace("_", "."): value for key, value in overrides.items()})
        return conf


class LocalSettings(BaseModel):
    """The embedded platform started by ``mesh up``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", description="The interface the services listen on.")
    broker_port: int = Field(default=9092, description="The broker's client port.")
    registry_port: int = Field(default=8081, description="The schema registry's port.")
    state_dir: Path = Field(
        default=Path(".mesh"),
        description="Unset: the nearest .mesh above the current directory (find_state_dir).",
    )
    start_timeout_s: float = Field(
        default=60.0, description="Upper bound; Tansu answers in ms, a Kafka JVM in ~3-10 s."
    )
    broker: BrokerKind = Field(
        default="tansu",
        description="tansu: embedded, in memory, Python only; kafka: Apache Kafka (KRaft, Java).",
    )
    kafka_home: Path | None = Field(
        default=None, description="An Apache Kafka distribution whose libs/ folder is used."
    )
    kafka_cache_dir: Path = Field(
        default=Path("~/.cache/streams/kafka"),
        description="Where `mesh kafka fetch` puts <version>/libs when there is no kafka_home.",
    )
    kafka_version: str = Field(default="4.4.0", description="Apache Kafka version to fetch.")
    kafka_heap: str = Field(default="512m", description="JVM heap of the Kafka broker (-Xmx).")
    monitor: bool = Field(
        default=True,
        description="Start the guarantees monitor (mesh monitor run) beside broker and registry.",
    )
    controller_port: int = Field(
        default=9093, description="KRaft controller port of the Kafka broker."
    )
    web: bool = Field(
        default=True,
        description="Start the web catalog (mesh web) beside broker, registry and monitor.",
    )
    web_port: int = Field(default=8090, description="Port of the web catalog (mesh web).")
    auth: bool = Field(
        default=True,
        description="Authenticate clients: the registry runs as the admin and checks every "
        "request; on Apache Kafka a SASL_PLAINTEXT SCRAM-SHA-256 listener with ACLs "
        "(StandardAuthorizer), the admin from <state_dir>/credentials. Off (`mesh up "
        "--no-auth`, local experiments): anyone may do anything.",
    )
    kafka_sasl: bool = Field(
        default=True,
        description="With auth, on Apache Kafka: the SASL/SCRAM listener and ACLs. False keeps "
        "a PLAINTEXT Kafka while the registry still authenticates (for tools that cannot log "
        "in; the broker then enforces nothing).",
    )


class MonitorSettings(BaseModel):
    """The guarantees monitor (``mesh monitor run``, started by ``mesh up``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: float = Field(
        default=300.0, gt=0, description="The sliding window guarantees are judged over."
    )
    publish_every_s: float = Field(
        default=10.0, gt=0, description="Seconds between published observations and checkpoints."
    )
    catalog_every_s: float = Field(
        default=10.0, gt=0, description="Seconds between reads of the catalog for new products."
    )
    window_grace_s: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Wall-clock seconds an aggregate's agent has to emit a window once its inputs "
            "passed the window's end and allowed lateness, before the window counts as missing."
        ),
    )


class IdentitySettings(BaseModel):
    """Who this process is on the mesh: ``admin`` or a domain (:mod:`streams.identity`).

    Either a credential file (``file``: what ``mesh up`` writes for the admin and ``mesh domain
    create`` for a domain) or ``name`` and ``secret``. Unset, commands run by the platform team
    on the machine that ran ``mesh up`` use the admin credential it wrote (see
    :func:`load_settings`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, description="The identity: admin or a domain.")
    secret: SecretStr | None = Field(
        default=None, description="The identity's secret (with name, instead of a file)."
    )
    file: Path | None = Field(
        default=None, description="A credential file (JSON, mode 0600) naming the identity."
    )
    admin_public_key: str | None = Field(
        default=None,
        description="The admin's public key (base64url), trusted for the mesh's signed records; "
        "unset, it is asked of the registry (GET /mesh/v1/trust).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> IdentitySettings:
        if self.file is not None and (self.name is not None or self.secret is not None):
            raise ValueError(
                "identity.file / identity.name: give a credential file "
                "(STREAMS_IDENTITY__FILE) or a name and secret, not both"
            )
        if (self.name is None) != (self.secret is None):
            raise ValueError(
                "identity.name / identity.secret: an identity needs both; set "
                "STREAMS_IDENTITY__NAME and STREAMS_IDENTITY__SECRET (or STREAMS_IDENTITY__FILE)"
            )
        return self

    def credential(self) -> Credential | None:
        """The credential these settings name (None: none is set).

        Raises:
            ConfigError: The file cannot be read or the name or secret is invalid.
        """
        if self.file is not None:
            return read_credential(self.file.expanduser())
        if self.name is not None and self.secret is not None:
            return Credential(name=self.name, secret=self.secret.get_secret_value())
        return None


class Settings(BaseSettings):
    """The whole settings tree.

    ``identity`` feeds the clients (here, and nowhere else): the registry client's
    ``basic.auth.user.info`` unless ``registry.basic_auth_*`` are set, and on a SASL cluster
    Kafka's ``sasl.username``/``sasl.password`` unless ``kafka.sasl_*`` are set.
    """

    model_config = SettingsConfigDict(
        env_prefix="STREAMS_",
        env_nested_delimiter="__",
        env_file=".env",
        frozen=True,
        extra="ignore",
    )

    kafka: KafkaSettings = KafkaSettings()
    registry: RegistrySettings = RegistrySettings()
    local: LocalSettings = LocalSettings()
    monitor: MonitorSettings = MonitorSettings()
    identity: IdentitySettings = IdentitySettings()

    @model_validator(mode="before")
    @classmethod
    def _identity_feeds_clients(cls, data: Any) -> Any:
        return _fed(data) if isinstance(data, dict) else data


def _section(value: Any) -> dict[str, Any] | None:
    """A settings section as a dict of the values given (None: a model, left as it is)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    return None


def _fed(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the identity's name and secret given to the registry client and, on a
    SASL cluster, to Kafka, where those are not set."""
    raw = data.get("identity")
    if raw is None:
        return data
    try:
        identity = raw if isinstance(raw, IdentitySettings) else IdentitySettings(**raw)
    except (TypeError, ValidationError):
        return data  # the field's own validation reports it
    try:
        credential = identity.credential()
    except ConfigError as exc:
        raise ValueError(f"identity: {exc}") from exc
    if credential is None:
        return data
    data = dict(data)
    registry = _section(data.get("registry"))
    if registry is not None and registry.get("basic_auth_username") is None:
        registry["basic_auth_username"] = credential.name
        registry["basic_auth_password"] = credential.secret
        data["registry"] = registry
    elif isinstance(data.get("registry"), RegistrySettings):
        given: RegistrySettings = data["registry"]
        if given.basic_auth_username is None:
            data["registry"] = given.model_copy(
                update={
                    "basic_auth_username": credential.name,
                    "basic_auth_password": SecretStr(credential.secret),
                }
            )
    kafka = _section(data.get("kafka"))
    if (
        kafka is not None
        and str(kafka.get("security_protocol", "")).upper().startswith("SASL_")
        and kafka.get("sasl_mechanism") != "OAUTHBEARER"
        and kafka.get("sasl_username") is None
    ):
        kafka["sasl_username"] = credential.name
        kafka["sasl_password"] = credential.secret
        kafka.setdefault("sasl_mechanism", "SCRAM-SHA-256")
        data["kafka"] = kafka
    return data


class _ProfileSource(PydanticBaseSettingsSource):
    """One table of a profile file, below ``.env`` in precedence."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = dict(values)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def _nearest(file: Path) -> Path:
    """A relative ``file`` in the current directory or its nearest parent holding it."""
    path = file.expanduser()
    if path.is_absolute():
        return path
    here = Path.cwd()
    found = (directory / path for directory in (here, *here.parents))
    return next((candidate for candidate in found if candidate.is_file()), path)


def _read_profile(name: str, files: Sequence[Path]) -> dict[str, Any]:
    seen: list[str] = []
    for file in files:
        path = _nearest(file)
        if not path.is_file():
            continue
        try:
            tables = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"profile file {path}: invalid TOML: {exc}") from exc
        profiles = tables.get("profiles", {})
        if name in profiles:
            profile = profiles[name]
            if not isinstance(profile, dict):
                raise ConfigError(f"profile file {path}: [profiles.{name}] must be a table")
            return profile
        seen += [f"{key} ({path})" for key in profiles]
    where = ", ".join(str(file) for file in files)
    known = ", ".join(seen) or "none"
    raise ConfigError(
        f"profile {name!r} not found in {where}; add a [profiles.{name}] table "
        f"(known profiles: {known})"
    )


class _Located(BaseSettings):
    """The two sections that say where a platform is and who we are, read before the rest
    (``--as NAME`` and the platform's admin credential depend on the state directory)."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMS_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    local: LocalSettings = LocalSettings()
    identity: IdentitySettings = IdentitySettings()


def _profiled(base: type[BaseSettings], values: Mapping[str, Any]) -> type[BaseSettings]:
    """``base`` with a profile's ``values`` as a source below ``.env``."""

    class _Profiled(base):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            profiled = _ProfileSource(settings_cls, values)
            return init_settings, env_settings, dotenv_settings, profiled, file_secret_settings

    return _Profiled


CREDENTIALS_DIR = "credentials"


def credential_path(state_dir: Path, name: str) -> Path:
    """Where the credential of identity ``name`` is kept locally:
    ``<state_dir>/credentials/<name>.json`` (``mesh up`` writes the admin's, ``mesh domain
    create`` a domain's)."""
    return state_dir / CREDENTIALS_DIR / f"{check_identity_name(name)}.json"


def _chosen_identity(
    located: _Located, *, as_identity: str | None, start: Path
) -> dict[str, Any] | None:
    """The identity ``--as NAME`` names, else the recorded platform's admin when no identity
    is configured; None: the settings' own."""
    state_dir = find_state_dir(located.local, start=start)
    if as_identity is not None:
        path = credential_path(state_dir, as_identity)
        if not path.is_file():
            raise ConfigError(
                f"--as {as_identity}: no credential file {path}; `mesh domain create "
                f"{as_identity}` writes it (`mesh up` writes the admin's), or point "
                "STREAMS_IDENTITY__FILE at the credential"
            )
    else:
        configured = located.identity.file is not None or located.identity.name is not None
        path = credential_path(state_dir, ADMIN)
        if configured or not (state_dir / PLATFORM_FILE).is_file() or not path.exists():
            return None
    # Every key given, so that none is merged with an identity set in the environment.
    return {"file": path, "name": None, "secret": None}


def load_settings(
    *,
    profile: str | None = None,
    profile_files: Sequence[Path] = PROFILE_FILES,
    start: Path | None = None,
    as_identity: str | None = None,
) -> Settings:
    """Settings from the environment, ``.env``, optionally a named profile, and the platform.

    A profile is a ``[profiles.NAME]`` table (with ``kafka``/``registry``/``local`` sub-tables)
    in the first of ``profile_files`` that has it. Environment variables and ``.env`` still
    override it, so one secret can come from the environment and the rest from the profile.

    Kafka's and the registry's address, where none of these set them, come from the platform
    ``mesh up`` recorded in the state directory (:func:`find_state_dir`, searched from
    ``start``, by default the current directory). When there is none either, the addresses
    keep their defaults but are not used: building a client from them raises
    :class:`~streams.errors.PlatformNotRunningError` saying where the platform was looked for.

    The identity: ``as_identity`` (the ``mesh --as NAME`` flag) names
    ``<state_dir>/credentials/NAME.json``; else the settings' ``identity``; else, when a platform
    is recorded in the state directory and ``mesh up`` wrote its admin credential there, the
    admin (the platform team on its own machine).

    Raises:
        ConfigError: The profile is missing, a setting is invalid (the message names it), or
            a credential file is missing, unreadable or readable by others.
    """
    values = {} if profile is None else _read_profile(profile, profile_files)
    here = Path.cwd() if start is None else start
    try:
        located = _profiled(_Located, values)()
        assert isinstance(located, _Located)
        identity = _chosen_identity(located, as_identity=as_identity, start=here)
        init: dict[str, Any] = {} if identity is None else {"identity": identity}
        loaded = _profiled(Settings, values)(**init)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, profile)) from exc
    except SettingsError as exc:
        raise ConfigError(_unparsable(exc, profile)) from exc
    # Every field of the tree, named once (a field left out here would silently lose its
    # environment and profile values).
    fields = {name: getattr(loaded, name) for name in Settings.model_fields}
    settings = Settings.model_construct(_fields_set=loaded.model_fields_set, **fields)
    return _with_platform(settings, start=here)


STATE_DIR_NAME = ".mesh"
PLATFORM_FILE = "platform.json"
# What marks the root of a repository when no state directory exists yet anywhere above.
_ROOT_MARKERS = (".git", "mesh.toml", "products")


def find_state_dir(local: LocalSettings, *, start: Path | None = None) -> Path:
    """The platform's state directory, the same from any subdirectory of a repository.

    ``local.state_dir`` when it was set (flag, ``STREAMS_LOCAL__STATE_DIR``, profile); else the
    nearest ``.mesh`` directory in ``start`` or its parents; else ``.mesh`` in the nearest of
    them that holds ``.git``, ``mesh.toml`` or ``products/`` (the repository's root); else
    ``start/.mesh``.

    Args:
        local: The local platform settings.
        start: Where to start looking; the current directory by default.

    Returns:
        An absolute path (which may not exist yet).
    """
    here = (Path.cwd() if start is None else start).absolute()
    if "state_dir" in local.model_fields_set:
        return (here / local.state_dir.expanduser()).absolute()
    ancestors = (here, *here.parents)
    for directory in ancestors:
        if (directory / STATE_DIR_NAME).is_dir():
            return directory / STATE_DIR_NAME
    for directory in ancestors:
        if any((directory / marker).exists() for marker in _ROOT_MARKERS):
            return directory / STATE_DIR_NAME
    return here / STATE_DIR_NAME


def _recorded(path: Path) -> tuple[str, str, str | None] | None:
    """Kafka's and the registry's address, and the SASL mechanism Kafka wants (None: none),
    from a state file ``mesh up`` wrote, if readable.

    Only these keys of ``streams.local``'s ``PlatformState`` are read here (this layer may not
    import it).
    """
    try:
        state = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    servers, url = state.get("bootstrap_servers"), state.get("registry_url")
    mechanism = state.get("sasl_mechanism")
    if not (isinstance(servers, str) and isinstance(url, str)):
        return None
    return servers, url, mechanism if isinstance(mechanism, str) else None


def _recorded_login(settings: Settings, mechanism: str | None) -> dict[str, Any]:
    """How to log in to a recorded platform's Kafka that wants SASL: as the settings' identity,
    unless the Kafka settings say otherwise."""
    kafka = settings.kafka
    if mechanism is None or "security_protocol" in kafka.model_fields_set:
        return {}
    credential = settings.identity.credential()
    if credential is None:
        return {}
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_username": credential.name,
        "sasl_password": SecretStr(credential.secret),
    }


def _with_platform(settings: Settings, *, start: Path) -> Settings:
    """Fill Kafka's and the registry's address from the recorded platform where not set."""
    kafka, registry = settings.kafka, settings.registry
    missing_kafka = "bootstrap_servers" not in kafka.model_fields_set
    missing_registry = "url" not in registry.model_fields_set
    if not (missing_kafka or missing_registry):
        return settings
    path = find_state_dir(settings.local, start=start) / PLATFORM_FILE
    recorded = _recorded(path)
    if recorded is not None:
        if missing_kafka:
            login = _recorded_login(settings, recorded[2])
            kafka = kafka.model_copy(update={"bootstrap_servers": recorded[0], **login})
        if missing_registry:
            registry = registry.model_copy(update={"url": recorded[1]})
        return settings.model_copy(update={"kafka": kafka, "registry": registry})
    if "state_dir" in settings.local.model_fields_set:
        looked = f"no platform recorded in {path} ({_named('local.state_dir')})"
    else:
        looked = (
            f"no platform found ({STATE_DIR_NAME}/{PLATFORM_FILE} in {start.absolute()} or its "
            "parents)"
        )
    unset = [
        name
        for name, missing in (
            ("kafka.bootstrap_servers", missing_kafka),
            ("registry.url", missing_registry),
        )
        if missing
    ]
    named = [_named(name) for name in unset]
    what = f"{named[0]} is not set" if len(named) == 1 else f"neither {' nor '.join(named)} is set"
    why = (
        f"{looked} and {what}: run `mesh up` to start the local platform, or set "
        f"{' and '.join(_variable(name) for name in unset)} to reach another one"
    )
    if missing_kafka:
        kafka = kafka.model_copy()
        kafka._unresolved = why
    if missing_registry:
        registry = registry.model_copy()
        registry._unresolved = why
    return settings.model_copy(update={"kafka": kafka, "registry": registry})


def _model_at(loc: Sequence[str]) -> type[BaseModel] | None:
    """The settings model that ``loc`` (``("kafka",)``) points into, if any."""
    model: type[BaseModel] = Settings
    for part in loc:
        field = model.model_fields.get(part)
        annotation = None if field is None else field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _did_you_mean(path: Sequence[str]) -> str:
    """``; did you mean kafka.bootstrap_servers (STREAMS_...)?`` for a misspelt setting."""
    model = _model_at(path[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(path[-1], list(model.model_fields), n=1)
    if not close:
        return f"; known settings here: {', '.join(model.model_fields)}"
    return f"; did you mean {_named('.'.join([*path[:-1], close[0]]))}?"


def _describe(exc: ValidationError, profile: str | None) -> str:
    where = f" (profile {profile!r})" if profile else ""
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not str(part).startswith("function")]
        path = ".".join(loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message += _did_you_mean(loc)
        if not path or message.startswith(path):
            problems.append(message)
        else:
            problems.append(f"{path}: {message}")
    return f"invalid settings{where}: " + "; ".join(problems)


def _unparsable(exc: SettingsError, profile: str | None) -> str:
    """pydantic-settings could not decode a section's value, e.g. the JSON of ``kafka.extra``."""
    where = f" (profile {profile!r})" if profile else ""
    cause = f": {exc.__cause__}" if exc.__cause__ else ""
    match = re.search(r'field "(\w+)"', str(exc))
    model = _model_at([match[1]]) if match else None
    if match is None or model is None:
        return f"invalid settings{where}: {exc}{cause}"
    # Only dict (and list) settings are read as JSON from the environment.
    decoded = [
        _named(f"{match[1]}.{name}")
        for name, field in model.model_fields.items()
        if getattr(field.annotation, "__origin__", None) in (dict, list)
    ]
    names = " or ".join(decoded) or _named(match[1])
    return (
        f"invalid settings{where}: {names} is not valid JSON{cause}; quote keys and strings, "
        """e.g. '{"client.id": "mesh"}'"""
    )
