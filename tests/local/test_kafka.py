"""Apache Kafka's runtime: Java checks, the jar cache, the fetch, and the config we write.

No network and no Java needed: ``java`` and ``mvn`` are small fake scripts on a private PATH.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from streams.config import LocalSettings
from streams.errors import PlatformStartError
from streams.local import fetch_kafka
from streams.local._kafka import find_java, write_properties
from streams.local._kafka_dist import fetched_libs, resolve_libs


def _script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_no_java_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(PlatformStartError, match=r"needs Java 17 .*no `java` was found"):
        find_java({"PATH": str(tmp_path)})


def test_old_java_is_refused_with_its_version(tmp_path: Path) -> None:
    _script(tmp_path, "java", "echo 'java version \"1.8.0_292\"' >&2")
    with pytest.raises(PlatformStartError, match=r"needs Java 17 or newer, but .* is Java 8"):
        find_java({"PATH": str(tmp_path)})


def test_java_home_wins_over_path(tmp_path: Path) -> None:
    _script(tmp_path / "path", "java", "echo 'openjdk version \"11.0.2\"' >&2")
    home = tmp_path / "jdk"
    java = _script(home / "bin", "java", "echo 'openjdk version \"21.0.1\" 2023' >&2")
    assert find_java({"PATH": str(tmp_path / "path"), "JAVA_HOME": str(home)}) == (str(java), 21)


def test_missing_jars_say_what_to_run(tmp_path: Path) -> None:
    settings = LocalSettings(kafka_cache_dir=tmp_path, kafka_version="4.1.0")
    with pytest.raises(PlatformStartError, match=r"run `mesh kafka fetch --version 4\.1\.0`"):
        resolve_libs(settings)


def test_a_kafka_home_without_jars_is_named(tmp_path: Path) -> None:
    (tmp_path / "libs").mkdir()
    with pytest.raises(PlatformStartError, match=r"--kafka-home .* holds no kafka_\*\.jar"):
        resolve_libs(LocalSettings(kafka_home=tmp_path))
    (tmp_path / "libs" / "kafka_2.13-4.4.0.jar").write_bytes(b"")
    assert resolve_libs(LocalSettings(kafka_home=tmp_path)) == tmp_path.absolute() / "libs"


def _fake_mvn(folder: Path, calls: Path) -> None:
    # Like `mvn dependency:copy-dependencies -DoutputDirectory=DIR`: fill DIR with jars.
    _script(
        folder,
        "mvn",
        f"""echo called >> {calls}
for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${{arg#*=}}";; esac; done
mkdir -p "$out" && touch "$out/kafka_2.13-9.9.9.jar" "$out/kafka-clients-9.9.9.jar"
""",
    )


def test_fetch_runs_maven_once_and_stamps_the_result(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    _fake_mvn(tmp_path / "bin", calls)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}  # the script needs mkdir, touch
    cache = tmp_path / "cache"
    lines: list[str] = []
    libs = fetch_kafka(version="9.9.9", cache_dir=cache, env=env, progress=lines.append)
    assert libs == cache / "9.9.9" / "libs"
    assert sorted(p.name for p in libs.iterdir()) == [
        "kafka-clients-9.9.9.jar",
        "kafka_2.13-9.9.9.jar",
    ]
    pom = (cache / "9.9.9" / "pom.xml").read_text()
    assert "<artifactId>kafka_2.13</artifactId>" in pom
    assert "<version>9.9.9</version>" in pom
    assert fetched_libs(cache, "9.9.9") == libs
    assert lines[0].startswith("fetching Apache Kafka 9.9.9")
    assert fetch_kafka(version="9.9.9", cache_dir=cache, env=env) == libs
    assert calls.read_text().count("called") == 1


def test_a_half_finished_fetch_is_redone(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    _fake_mvn(tmp_path / "bin", calls)
    cache = tmp_path / "cache"
    (cache / "9.9.9" / "libs").mkdir(parents=True)
    (cache / "9.9.9" / "libs" / "truncated.jar").write_bytes(b"")
    assert fetched_libs(cache, "9.9.9") is None
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    libs = fetch_kafka(version="9.9.9", cache_dir=cache, env=env)
    assert not (libs / "truncated.jar").exists()
    assert calls.read_text().count("called") == 1


def test_a_failed_fetch_names_its_log_and_stamps_nothing(tmp_path: Path) -> None:
    _script(tmp_path / "bin", "mvn", "echo 'Could not resolve dependencies'; exit 1")
    cache = tmp_path / "cache"
    with pytest.raises(PlatformStartError, match=r"exit 1\).*See .*mvn\.log") as caught:
        fetch_kafka(version="0.0.1", cache_dir=cache, env={"PATH": str(tmp_path / "bin")})
    assert "Could not resolve" in Path(str(caught.value.log_path)).read_text()
    assert fetched_libs(cache, "0.0.1") is None


def test_fetch_without_maven_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(PlatformStartError, match=r"needs Maven .* or pass --kafka-home"):
        fetch_kafka(version="4.4.0", cache_dir=tmp_path, env={"PATH": str(tmp_path)})


def test_the_node_is_a_single_kraft_broker_and_controller(tmp_path: Path) -> None:
    path = write_properties(kafka_dir=tmp_path, host="127.0.0.1", port=1234, controller_port=1235)
    props = dict(line.split("=", 1) for line in path.read_text().splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:1235"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:1234"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
