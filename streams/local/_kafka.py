"""Apache Kafka as the platform broker: its jars, Java, the KRaft storage and the command line.

Apache Kafka 4.x is on Maven Central as jars, not as a distribution, so :func:`fetch` writes a
pom of ours pinning ``kafka_2.13`` and ``kafka-tools`` and lets Maven copy them with their runtime
dependencies into ``<cache>/<version>/libs``. A stamp file written last marks a complete fetch, so
an interrupted one is redone instead of half used. A user's own distribution (``kafka_home``) is
used as it is. One JVM runs broker and controller (KRaft); its storage is formatted once under the
state directory, so topics, schemas and committed offsets survive ``mesh down`` / ``mesh up``.
"""

from __future__ import annotations

import base64
import logging
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.config import LocalSettings
from streams.errors import PlatformStartError

__all__ = [
    "MIN_JAVA",
    "KafkaRuntime",
    "broker_command",
    "fetch",
    "fetched_libs",
    "find_java",
    "format_storage",
    "resolve_libs",
    "write_properties",
]

logger = logging.getLogger(__name__)

MIN_JAVA = 17
_STAMP = "fetched"
_SCALA = "2.13"
# The binding that routes Kafka's slf4j 1.x logging to the log4j2 core it already depends on.
_LOG4J = "2.25.5"
_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Written by `mesh kafka fetch`: the runtime class path of one Apache Kafka broker. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>streams.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""
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


def _version_dir(cache_dir: Path, version: str) -> Path:
    return cache_dir.expanduser().absolute() / version


def fetched_libs(cache_dir: Path, version: str) -> Path | None:
    """The jars of a complete earlier :func:`fetch`, if any.

    Args:
        cache_dir: The cache root (``~`` is expanded).
        version: Apache Kafka version.

    Returns:
        The ``libs`` folder, or None when that version was never fetched completely.
    """
    root = _version_dir(cache_dir, version)
    return root / "libs" if (root / _STAMP).is_file() else None


def _has_kafka_jar(libs: Path) -> bool:
    return any(libs.glob(f"kafka_{_SCALA}-*.jar")) or any(libs.glob("kafka_*.jar"))


def resolve_libs(settings: LocalSettings) -> Path:
    """The jars to run: ``<kafka_home>/libs`` when set, else the fetched cache.

    Args:
        settings: ``kafka_home``, ``kafka_cache_dir`` and ``kafka_version``.

    Returns:
        A folder holding the broker's jars.

    Raises:
        PlatformStartError: The distribution or the fetched jars are missing, naming the fix.
    """
    if settings.kafka_home is not None:
        libs = settings.kafka_home.expanduser().absolute() / "libs"
        if not libs.is_dir() or not _has_kafka_jar(libs):
            raise PlatformStartError(
                f"--kafka-home {settings.kafka_home} is not an Apache Kafka distribution: "
                f"{libs} holds no kafka_*.jar; pass the folder that contains bin/ and libs/",
                service="broker",
            )
        return libs
    libs_dir = fetched_libs(settings.kafka_cache_dir, settings.kafka_version)
    if libs_dir is None:
        raise PlatformStartError(
            f"the Apache Kafka {settings.kafka_version} jars are not in "
            f"{_version_dir(settings.kafka_cache_dir, settings.kafka_version)}; run "
            f"`mesh kafka fetch --version {settings.kafka_version}` (needs Maven, about 55 MB) "
            "or pass --kafka-home with an existing Apache Kafka distribution",
            service="broker",
        )
    return libs_dir


def fetch(
    *,
    version: str,
    cache_dir: Path,
    env: Mapping[str, str],
    progress: Callable[[str], None] | None = None,
    timeout_s: float = 900.0,
) -> Path:
    """Assemble the jars of Apache Kafka ``version`` from Maven Central with ``mvn``.

    Does nothing when the version was fetched completely before.

    Args:
        version: Apache Kafka version, e.g. ``4.4.0``.
        cache_dir: The cache root; jars land in ``<cache_dir>/<version>/libs``.
        env: Environment of ``mvn`` (proxies, ``JAVA_HOME``, ``PATH``).
        progress: Called with one line per step.
        timeout_s: Give up on Maven after this long.

    Returns:
        The ``libs`` folder.

    Raises:
        PlatformStartError: ``mvn`` is missing or failed (its log is named).
    """
    say = progress or (lambda line: logger.info("%s", line))
    done = fetched_libs(cache_dir, version)
    if done is not None:
        say(f"Apache Kafka {version} already fetched in {done}")
        return done
    mvn = shutil.which("mvn", path=env.get("PATH"))
    if mvn is None:
        raise PlatformStartError(
            "fetching Apache Kafka needs Maven (`mvn`) on PATH; install it (e.g. "
            "`apt-get install maven`) or pass --kafka-home with an Apache Kafka distribution",
            service="broker",
        )
    root = _version_dir(cache_dir, version)
    root.mkdir(parents=True, exist_ok=True)
    partial, libs, log = root / "libs.partial", root / "libs", root / "mvn.log"
    for stale in (partial, libs):
        shutil.rmtree(stale, ignore_errors=True)
    (root / "pom.xml").write_text(_POM.format(version=version, scala=_SCALA, log4j=_LOG4J))
    say(f"fetching Apache Kafka {version} jars from Maven Central into {libs} (log: {log})")
    command = [
        mvn,
        "-B",
        "--no-transfer-progress",
        "-f",
        str(root / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
    ]
    with log.open("w") as out:
        try:
            code = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, env=dict(env), timeout=timeout_s
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    if code != 0 or not _has_kafka_jar(partial):
        raise PlatformStartError(
            f"mvn could not fetch Apache Kafka {version} (exit {code}); is Maven Central "
            f"reachable and does version {version} exist? See {log}",
            service="broker",
            log_path=str(log),
        )
    partial.rename(libs)
    jars = sorted(path.name for path in libs.glob("*.jar"))
    (root / _STAMP).write_text("\n".join(jars) + "\n")
    say(f"fetched {len(jars)} jars into {libs}")
    return libs


def write_properties(*, kafka_dir: Path, host: str, port: int, controller_port: int) -> Path:
    """Write the single-node KRaft ``server.properties`` (and the log4j2 config) for this start.

    Ports may change between starts; the data folder stays.

    Args:
        kafka_dir: ``<state_dir>/kafka``; data lives in its ``data`` folder.
        host: Address to listen on and advertise.
        port: Client port.
        controller_port: KRaft controller port.

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
    path = kafka_dir / "server.properties"
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    (kafka_dir / "log4j2.properties").write_text(_LOG4J2)
    return path


def _cluster_id() -> str:
    # Kafka's Uuid.randomUuid().toString(): URL-safe base64 without padding, never "-" first.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def format_storage(
    runtime: KafkaRuntime, *, properties: Path, log_path: Path, timeout_s: float
) -> bool:
    """Format the KRaft storage once (``kafka-storage.sh format``); later starts reuse it.

    Args:
        runtime: Java and the jars.
        properties: The ``server.properties`` naming ``log.dirs``.
        log_path: The broker log, which receives the tool's output.
        timeout_s: Give up after this long.

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
        "-cp",
        runtime.classpath,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _cluster_id(),
        "-c",
        str(properties),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as out:
        out.write(f"=== formatting storage: {' '.join(command)}\n")
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
