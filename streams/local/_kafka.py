"""Apache Kafka as the platform broker: Java, the KRaft config and storage, the command line.

One JVM runs broker and controller (KRaft); its storage is formatted once under the state
directory, so topics, schemas and committed offsets survive ``mesh down`` / ``mesh up``. The jars
come from :mod:`streams.local._kafka_dist`.
"""

from __future__ import annotations

import base64
import logging
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from streams.config import LocalSettings
from streams.errors import PlatformStartError
from streams.identity import Credential
from streams.local._kafka_dist import resolve_libs

__all__ = [
    "MIN_JAVA",
    "SCRAM",
    "KafkaRuntime",
    "ListenerSecurity",
    "broker_command",
    "find_java",
    "format_storage",
    "holds_data",
    "prepare",
    "write_properties",
]

logger = logging.getLogger(__name__)

MIN_JAVA = 17
_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SCRAM: Literal["SCRAM-SHA-256"] = "SCRAM-SHA-256"
"""The SASL mechanism of a local Kafka with authentication (the one ``BrokerAccess`` manages)."""
_SCRAM_MARKER = "scram"  # in <state_dir>/kafka: the storage was formatted with the admin user

# Warnings and errors, plus the lines that say the server started or stopped.
_LOG4J2 = """status = error
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = info
"""


@dataclass(frozen=True, kw_only=True)
class KafkaRuntime:
    """What launching Kafka needs: a Java 17+ executable and a folder of jars.

    Attributes:
        java: Absolute path of the ``java`` executable.
        java_major: Its major version.
        libs: Folder holding ``kafka_2.13-*.jar`` and its dependencies.
    """

    java: str
    java_major: int
    libs: Path

    @property
    def classpath(self) -> str:
        """The class path wildcard Java expands itself."""
        return f"{self.libs}/*"


def find_java(env: Mapping[str, str]) -> tuple[str, int]:
    """Find ``java`` (``$JAVA_HOME/bin/java``, else on ``PATH``) and check it is 17 or newer.

    Args:
        env: The environment the broker will run with.

    Returns:
        The absolute path of ``java`` and its major version.

    Raises:
        PlatformStartError: No Java, or one older than 17.
    """
    java: str | None = None
    home = env.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        java = str(Path(home) / "bin" / "java")
    if java is None:
        java = shutil.which("java", path=env.get("PATH"))
    if java is None:
        raise PlatformStartError(
            f"Apache Kafka needs Java {MIN_JAVA} or newer and no `java` was found on PATH or in "
            "JAVA_HOME; install a JDK (e.g. `apt-get install openjdk-17-jre-headless`) or use "
            "the default broker (`mesh up` without `--broker kafka`)",
            service="broker",
        )
    java = str(Path(java).absolute())
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PlatformStartError(f"cannot run {java} -version: {exc}", service="broker") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if match is None:
        raise PlatformStartError(
            f"cannot tell the version of {java} from `java -version`: {done.stderr.strip()!r}",
            service="broker",
        )
    major = int(match[1])
    if major == 1 and match[2] is not None:  # "1.8.0_292" is Java 8
        major = int(match[2])
    if major < MIN_JAVA:
        raise PlatformStartError(
            f"Apache Kafka 4 needs Java {MIN_JAVA} or newer, but {java} is Java {major}; "
            f"install a newer JDK or point JAVA_HOME at one",
            service="broker",
        )
    return java, major


@dataclass(frozen=True, kw_only=True)
class ListenerSecurity:
    """Client listeners that want SASL/SCRAM: what a company cluster looks like, for tests and
    for local clusters with per-user credentials.

    The client listener becomes ``SASL_PLAINTEXT``; with a keystore, a second listener on
    ``ssl_port`` (:func:`write_properties`) speaks ``SASL_SSL``. The users are created when the
    storage is formatted (``StorageTool format --add-scram``, KIP-900), so the broker needs no
    running cluster to learn them. The broker talks to itself over the ``SASL_PLAINTEXT``
    listener (transaction markers, for one) as the first user.

    Attributes:
        users: User name -> password; the first one is the broker's own.
        mechanism: The SCRAM mechanism clients must use.
        keystore: PEM file holding the broker's private key (unencrypted PKCS#8) and its
            certificate chain, for the ``SASL_SSL`` listener.
        authorizer: Enforce ACLs (``StandardAuthorizer``): the first user is the only super
            user, and whatever no ACL allows is refused.
    """

    users: Mapping[str, str] = field(default_factory=dict)
    mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    keystore: Path | None = None
    authorizer: bool = False

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError("ListenerSecurity needs at least one user (the broker's own)")

    def properties(
        self, *, host: str, port: int, controller_port: int, ssl_port: int | None
    ) -> dict[str, str]:
        """The ``server.properties`` lines that secure the client listeners."""
        if (self.keystore is None) != (ssl_port is None):
            raise ValueError("a SASL_SSL listener needs both a keystore and ssl_port")
        name, password = next(iter(self.users.items()))
        login = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{_quoted(name)}" password="{_quoted(password)}";'
        )
        client = {"SASL_PLAINTEXT": port} | ({"SASL_SSL": ssl_port} if ssl_port else {})
        bound = ",".join(f"{protocol}://{host}:{at}" for protocol, at in client.items())
        settings = {
            "listeners": f"{bound},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": bound,
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "listener.security.protocol.map": ",".join(f"{p}:{p}" for p in client)
            + ",CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": self.mechanism,
            "sasl.mechanism.inter.broker.protocol": self.mechanism,
        }
        for protocol in client:
            key = f"listener.name.{protocol.lower()}.{self.mechanism.lower()}.sasl.jaas.config"
            settings[key] = login
        if self.keystore is not None:
            settings |= {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(self.keystore)}
        if self.authorizer:
            # The controller checks CLUSTER_ACTION of the broker registering with it, so the
            # controller listener must know the broker as the super user too: SASL/PLAIN with
            # one static user there (SCRAM users live in the metadata the controller serves).
            plain = (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{name}" password="{password}" user_{name}="{password}";'
            )
            settings |= {
                "listener.security.protocol.map": settings[
                    "listener.security.protocol.map"
                ].replace("CONTROLLER:PLAINTEXT", "CONTROLLER:SASL_PLAINTEXT"),
                "sasl.mechanism.controller.protocol": "PLAIN",
                "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
                "listener.name.controller.plain.sasl.jaas.config": plain,
                "authorizer.class.name": _AUTHORIZER,
                "super.users": f"User:{name}",
                "allow.everyone.if.no.acl.found": "false",
            }
        return settings

    def scram_arguments(self) -> list[str]:
        """``--add-scram`` arguments of ``StorageTool format``, one per user."""
        arguments = []
        for name, password in self.users.items():
            pair = f"name={_quoted(name)},password={_quoted(password)}"
            arguments += ["--add-scram", f"{self.mechanism}=[{pair}]"]
        return arguments


def _quoted(text: str) -> str:
    # Both the JAAS line and StorageTool's "[name=...,password=...]" syntax have no escapes.
    bad = sorted(set(text) & set('"\\,[]='))
    if bad:
        raise ValueError(
            f"SCRAM user names and passwords may not contain {' '.join(bad)}: choose another"
        )
    return text


def write_properties(
    *,
    kafka_dir: Path,
    host: str,
    port: int,
    controller_port: int,
    security: ListenerSecurity | None = None,
    ssl_port: int | None = None,
) -> Path:
    """Write the single-node KRaft ``server.properties`` (and the log4j2 config) for this start.

    Ports may change between starts; the data folder stays.

    Args:
        kafka_dir: ``<state_dir>/kafka``; data lives in its ``data`` folder.
        host: Address to listen on and advertise.
        port: Client port.
        controller_port: KRaft controller port.
        security: Secure the client listener (default: ``PLAINTEXT``, no authentication).
        ssl_port: Port of the ``SASL_SSL`` listener (with ``security.keystore``).

    Returns:
        The path of ``server.properties``.
    """
    kafka_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(kafka_dir / "data"),
        "num.partitions": "1",
        # One node: internal topics with one replica, few partitions (each costs start-up time).
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Nobody else will join: do not hold the first member of a group for 3 s.
        "group.initial.rebalance.delay.ms": "0",
    }
    if security is not None:
        settings |= security.properties(
            host=host, port=port, controller_port=controller_port, ssl_port=ssl_port
        )
    path = kafka_dir / "server.properties"
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    if security is not None:  # it holds the broker's own password
        path.chmod(0o600)
    (kafka_dir / "log4j2.properties").write_text(_LOG4J2)
    return path


def holds_data(state_dir: Path) -> bool:
    """Whether ``state_dir`` holds formatted Kafka storage (an earlier ``mesh up --broker kafka``).

    Args:
        state_dir: The platform's state directory.
    """
    return (state_dir / "kafka" / "data" / "meta.properties").is_file()


def _cluster_id() -> str:
    # Kafka's Uuid.randomUuid().toString(): URL-safe base64 without padding, never "-" first.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def format_storage(
    runtime: KafkaRuntime,
    *,
    properties: Path,
    log_path: Path,
    timeout_s: float,
    security: ListenerSecurity | None = None,
) -> bool:
    """Format the KRaft storage once (``kafka-storage.sh format``); later starts reuse it.

    Args:
        runtime: Java and the jars.
        properties: The ``server.properties`` naming ``log.dirs``.
        log_path: The broker log, which receives the tool's output.
        timeout_s: Give up after this long.
        security: Its SCRAM users are created now (the passwords are not logged).

    Returns:
        True when the storage was formatted now, False when it already was.

    Raises:
        PlatformStartError: The tool failed (its output is in the log).
    """
    data = Path(
        next(
            line.partition("=")[2]
            for line in properties.read_text().splitlines()
            if line.startswith("log.dirs=")
        )
    )
    if (data / "meta.properties").is_file():
        return False
    command = [
        runtime.java,
        # A one-off tool: the client compiler alone starts it ~40 % sooner (2.9 s -> 1.7 s).
        "-XX:TieredStopAtLevel=1",
        "-cp",
        runtime.classpath,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _cluster_id(),
        "-c",
        str(properties),
    ]
    shown = " ".join(command) + (" --add-scram ..." if security is not None else "")
    if security is not None:
        command += security.scram_arguments()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as out:
        out.write(f"=== formatting storage: {shown}\n")
        out.flush()
        try:
            code = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    if code != 0:
        raise PlatformStartError(
            f"formatting the Kafka storage in {data} failed (exit {code}); see {log_path}",
            service="broker",
            log_path=str(log_path),
        )
    return True


def broker_command(runtime: KafkaRuntime, *, properties: Path, heap: str) -> list[str]:
    """The command line of the Kafka broker.

    Args:
        runtime: Java and the jars.
        properties: ``server.properties``.
        heap: Maximum heap, e.g. ``512m``.

    Returns:
        The argument vector.
    """
    return [
        runtime.java,
        f"-Xmx{heap}",
        f"-Xms{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={properties.parent / 'log4j2.properties'}",
        "-cp",
        runtime.classpath,
        "kafka.Kafka",
        str(properties),
    ]


def prepare(
    settings: LocalSettings,
    *,
    state_dir: Path,
    port: int,
    controller_port: int,
    env: Mapping[str, str],
    deadline: float,
    admin: Credential | None = None,
) -> list[str]:
    """Check Java and the jars, write the config, format the storage once; the command line.

    Args:
        settings: Host, Kafka home or cache, version and heap.
        state_dir: The platform's state directory (``kafka/`` and ``logs/`` live there).
        port: Client port.
        controller_port: KRaft controller port.
        env: The broker's environment (``JAVA_HOME``, ``PATH``).
        deadline: ``time.monotonic()`` value the formatting must finish by.
        admin: Authenticate clients: a ``SASL_PLAINTEXT`` SCRAM-SHA-256 listener and
            ``StandardAuthorizer``, with this credential as the super user (created when the
            storage is formatted). None: ``PLAINTEXT``, no ACLs.

    Returns:
        The broker's argument vector.

    Raises:
        PlatformStartError: Java or the jars are missing, formatting failed, or ``admin`` is
            given for storage formatted without it.
    """
    java, major = find_java(env)
    runtime = KafkaRuntime(java=java, java_major=major, libs=resolve_libs(settings))
    logger.info("Apache Kafka from %s on Java %d (%s)", runtime.libs, major, java)
    kafka_dir = state_dir / "kafka"
    security = None
    if admin is not None:
        security = ListenerSecurity(
            users={admin.name: admin.secret}, mechanism=SCRAM, authorizer=True
        )
        if holds_data(state_dir) and not (kafka_dir / _SCRAM_MARKER).is_file():
            raise PlatformStartError(
                f"the Kafka data in {kafka_dir / 'data'} was created without authentication, "
                "so it has no admin user: start it with `mesh up --no-auth`, or use another "
                "--state-dir for a platform with authentication",
                service="broker",
            )
    properties = write_properties(
        kafka_dir=kafka_dir,
        host=settings.host,
        port=port,
        controller_port=controller_port,
        security=security,
    )
    if format_storage(
        runtime,
        properties=properties,
        log_path=state_dir / "logs" / "broker.log",
        timeout_s=max(1.0, deadline - time.monotonic()),
        security=security,
    ):
        logger.info("formatted the Kafka storage in %s", kafka_dir / "data")
        if security is not None:
            (kafka_dir / _SCRAM_MARKER).write_text(
                f"{SCRAM} users: {admin.name if admin else ''}\n"
            )
    return broker_command(runtime, properties=properties, heap=settings.kafka_heap)
