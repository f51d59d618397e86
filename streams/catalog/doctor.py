"""``mesh doctor``: check one configuration end to end, one finding per check.

Each check is bounded by ``timeout_s`` so a wrong address answers in seconds, and a check that
depends on an earlier one (topics on the broker, compatibility on the registry) is skipped when
that one failed, instead of repeating its error.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import SchemaRegistryClient

from streams.catalog.store import PRODUCTS_TOPIC, CatalogStore
from streams.config import Settings
from streams.errors import StreamsError
from streams.kafka.client import build_client
from streams.naming import internal_topic

__all__ = ["Finding", "Outcome", "diagnose"]

Outcome = Literal["ok", "failed", "unreachable", "skipped"]


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of one check.

    Attributes:
        check: What was checked (``broker``, ``topics``, ``registry``, ``compatibility``,
            ``catalog``).
        outcome: ``unreachable`` when the peer did not answer at all, ``failed`` when it
            answered wrongly, ``skipped`` when an earlier check it needs failed.
        detail: What was found, in one line (never a secret).
        fix: How to fix it, empty when ``ok``.
    """

    check: str
    outcome: Outcome
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """The finding as a JSON object."""
        return asdict(self)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KafkaException) and exc.args:
        error = exc.args[0]
        text = error.str() if hasattr(error, "str") else str(error)
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


class _Doctor:
    def __init__(self, settings: Settings, timeout_s: float) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.servers = settings.kafka.bootstrap_servers
        self.url = settings.registry.url
        conf: dict[str, Any] = {
            **settings.kafka.librdkafka(socket_timeout_ms=int(timeout_s * 1000))
        }
        conf["log_level"] = 0  # the finding says what failed; librdkafka's retries are noise
        # Authentication failures reach only the error callback, not list_topics' exception.
        self.errors: list[KafkaError] = []
        conf["error_cb"] = self.errors.append
        self.admin = build_client(AdminClient, conf, settings=settings.kafka)

    def broker(self) -> Finding:
        try:
            metadata = self.admin.list_topics(timeout=self.timeout_s)
        except KafkaException as exc:
            self.admin.poll(0)  # serves the error callback
            refused = [e for e in self.errors if e.code() == KafkaError._AUTHENTICATION]
            if refused:
                return Finding(
                    "broker",
                    "failed",
                    f"Kafka at {self.servers} refused the credentials: {refused[-1].str()}",
                    "check kafka.sasl_mechanism, kafka.sasl_username and kafka.sasl_password "
                    "(STREAMS_KAFKA__SASL_PASSWORD), or the client certificate",
                )
            return Finding(
                "broker",
                "unreachable",
                f"Kafka at {self.servers} did not answer within {self.timeout_s:g} s: "
                f"{_one_line(exc)}",
                "check kafka.bootstrap_servers (STREAMS_KAFKA__BOOTSTRAP_SERVERS), the network, "
                "and kafka.security_protocol / SASL credentials",
            )
        brokers = len(metadata.brokers)
        return Finding(
            "broker",
            "ok",
            f"Kafka at {self.servers}: {brokers} broker(s), cluster id {metadata.cluster_id}, "
            f"{len(metadata.topics)} topic(s)",
        )

    def topics(self) -> Finding:
        topic = internal_topic(f"doctor_{uuid.uuid4().hex}")
        try:
            futures = self.admin.create_topics(
                [NewTopic(topic, num_partitions=1, replication_factor=-1)],
                operation_timeout=self.timeout_s,
                request_timeout=self.timeout_s,
            )
            futures[topic].result(self.timeout_s)
        except KafkaException as exc:
            return Finding(
                "topics",
                "failed",
                f"could not create topic {topic}: {_one_line(exc)}",
                "grant this principal CreateTopics (ACL) on the cluster, or create the product "
                "topics beforehand",
            )
        try:
            self.admin.delete_topics([topic], operation_timeout=self.timeout_s)[topic].result(
                self.timeout_s
            )
        except KafkaException as exc:
            return Finding(
                "topics",
                "failed",
                f"created {topic} but could not delete it: {_one_line(exc)}",
                f"grant DeleteTopics, and delete {topic} by hand",
            )
        return Finding("topics", "ok", f"created and deleted {topic}")

    def registry(self, client: SchemaRegistryClient) -> Finding:
        try:
            subjects = client.get_subjects()
        except Exception as exc:  # the client raises httpx's and its own errors alike
            status = getattr(exc, "http_status_code", None)
            if status not in (None, 401, 403) and getattr(exc, "error_code", None) == -1:
                # The client's code for a body without Confluent's {"error_code": ...}.
                return Finding(
                    "registry",
                    "failed",
                    f"{self.url} answered but is not a Confluent schema registry "
                    f"(HTTP {status} on GET /subjects)",
                    "point registry.url (STREAMS_REGISTRY__URL) at the schema registry",
                )
            outcome: Outcome = "failed" if status else "unreachable"
            fix = (
                "check registry.basic_auth_username / basic_auth_password"
                if status in (401, 403)
                else "check registry.url (STREAMS_REGISTRY__URL), its TLS CA "
                "(registry.ssl_ca_location), or start it (mesh up)"
            )
            return Finding("registry", outcome, f"registry at {self.url}: {_one_line(exc)}", fix)
        return Finding("registry", "ok", f"registry at {self.url}: {len(subjects)} subject(s)")

    def compatibility(self, client: SchemaRegistryClient) -> Finding:
        try:
            level = client.get_compatibility()
        except Exception as exc:  # as above
            return Finding(
                "compatibility",
                "failed",
                f"registry at {self.url} did not tell its compatibility level: {_one_line(exc)}",
                "the registry must serve GET /config (Confluent API)",
            )
        return Finding("compatibility", "ok", f"global compatibility level {level}")

    def catalog(self) -> Finding:
        try:
            with CatalogStore(settings=self.settings, timeout_s=self.timeout_s) as store:
                entries = store.read()
        except StreamsError as exc:
            return Finding(
                "catalog",
                "failed",
                f"could not read {PRODUCTS_TOPIC}: {_one_line(exc)}",
                f"grant Read and Describe on topic {PRODUCTS_TOPIC} and its consumer group",
            )
        return Finding("catalog", "ok", f"{PRODUCTS_TOPIC}: {len(entries)} product version(s)")


def diagnose(
    settings: Settings,
    *,
    timeout_s: float = 3.0,
    on_finding: Callable[[Finding], None] | None = None,
) -> list[Finding]:
    """Check the broker, topic creation, the registry, its compatibility level and the catalog.

    Args:
        settings: The configuration to check.
        timeout_s: Upper bound of each check.
        on_finding: Called with each finding as soon as it is known (for progress).

    Returns:
        One finding per check, in the order above.
    """
    doctor = _Doctor(settings, timeout_s)
    findings: list[Finding] = []

    def add(finding: Finding) -> bool:
        findings.append(finding)
        if on_finding is not None:
            on_finding(finding)
        return finding.outcome == "ok"

    def skip(check: str, because: str) -> None:
        add(Finding(check, "skipped", f"skipped: {because}"))

    broker = doctor.broker()
    if add(broker):
        add(doctor.topics())
        add(doctor.catalog())
    else:
        because = "the broker is unreachable" if broker.outcome == "unreachable" else "see broker"
        skip("topics", because)
        skip("catalog", because)
    conf = settings.registry.client_conf(max_retries=0, timeout=max(1, round(timeout_s)))
    with SchemaRegistryClient(conf) as client:
        if add(doctor.registry(client)):
            add(doctor.compatibility(client))
        else:
            skip("compatibility", "the registry did not answer")
    return findings
