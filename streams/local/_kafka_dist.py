"""Apache Kafka's jars: a user's distribution, or a pinned version assembled with Maven.

Apache Kafka 4.x is on Maven Central as jars, not as a distribution, so :func:`fetch` writes a
pom of ours pinning ``kafka_2.13`` and ``kafka-tools`` and lets Maven copy them with their runtime
dependencies into ``<cache>/<version>/libs``. A stamp file written last marks a complete fetch, so
an interrupted one is redone instead of half used. A user's own distribution (``kafka_home``) is
used as it is.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from streams.config import LocalSettings
from streams.errors import PlatformStartError

__all__ = ["fetch", "fetched_libs", "resolve_libs"]

logger = logging.getLogger(__name__)
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
