"""Settings: one frozen pydantic-settings tree.

Precedence is flags > environment (``STREAMS_`` prefix, ``__`` between levels, e.g.
``STREAMS_KAFKA__BOOTSTRAP_SERVERS``) > ``.env`` > defaults. Library code receives a
:class:`Settings` object; it never reads ``os.environ`` itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BrokerKind", "KafkaSettings", "LocalSettings", "RegistrySettings", "Settings"]

BrokerKind = Literal["tansu", "kafka"]


class KafkaSettings(BaseModel):
    """How to reach Kafka."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = "127.0.0.1:9092"
    session_timeout_ms: int = Field(
        default=6000,
        description="Short by default: the embedded broker holds group joins for half of it.",
    )
    extra: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Escape hatch: raw librdkafka properties."
    )

    def librdkafka(
        self, **overrides: str | int | float | bool
    ) -> dict[str, str | int | float | bool]:
        """The dotted librdkafka configuration: the one place it is built."""
        conf: dict[str, str | int | float | bool] = {"bootstrap.servers": self.bootstrap_servers}
        conf.update(self.extra)
        conf.update({key.replace("_", "."): value for key, value in overrides.items()})
        return conf


class RegistrySettings(BaseModel):
    """How to reach (and how to run) the schema registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = "http://127.0.0.1:8081"
    topic: str = Field(default="_schemas", description="Compacted topic that stores the registry.")


class LocalSettings(BaseModel):
    """The embedded platform started by ``mesh up``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    broker_port: int = 9092
    registry_port: int = 8081
    state_dir: Path = Path(".mesh")
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
    controller_port: int = Field(
        default=9093, description="KRaft controller port of the Kafka broker."
    )


class Settings(BaseSettings):
    """The whole settings tree."""

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
