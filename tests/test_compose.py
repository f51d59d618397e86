"""The root ``docker-compose.yml`` and ``Dockerfile``, checked without a Docker engine.

``docker compose config -q`` runs where the compose client is installed; the rest reads the
YAML and checks what a broken file would get wrong: the KRaft settings of the single Kafka node,
the ports, the healthchecks, the start order, and that the registry's command is one our CLI
accepts.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from streams.cli import main
from streams.config import LocalSettings, Settings

ROOT = Path(__file__).parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def kafka_env() -> dict[str, str]:
    return {k: str(v) for k, v in load()["services"]["kafka"]["environment"].items()}


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` as ``{NAME: (host, port)}``."""
    found = {}
    for item in value.split(","):
        name, address = item.split("://")
        host, port = address.rsplit(":", 1)
        found[name] = (host, int(port))
    return found


def published(service: dict[str, Any]) -> dict[int, int]:
    """``{container_port: host_port}`` of a service's ``"host:container"`` port mappings."""
    mapping = {}
    for item in service.get("ports", []):
        host, container = str(item).rsplit(":", 1)
        mapping[int(container)] = int(host.rsplit(":", 1)[-1])
    return mapping


def parse_mesh(argv: list[str]) -> click.Context:
    """Parse ``argv`` (``mesh registry serve ...``) with our CLI, as the container would."""
    assert argv[0] == "mesh", argv
    command: click.Command = main
    args = argv[1:]
    while isinstance(command, click.Group):
        sub = command.get_command(click.Context(command), args[0])
        assert sub is not None, f"`mesh` has no command {args[0]!r} ({argv})"
        command, args = sub, args[1:]
    return command.make_context(" ".join(argv[:3]), list(args))


def dockerfile_cmd() -> list[str]:
    lines = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")]
    assert len(lines) == 1, "the Dockerfile needs exactly one CMD (exec form)"
    cmd: list[str] = json.loads(lines[0].removeprefix("CMD "))
    return cmd


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose client is not installed here",
)
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_services_and_images():
    data = load()
    assert set(data["services"]) == {"kafka", "registry"}
    kafka = data["services"]["kafka"]
    # The same Apache Kafka release `mesh kafka fetch` assembles for `mesh up --broker kafka`.
    assert kafka["image"] == f"apache/kafka:{LocalSettings().kafka_version}"
    assert kafka["image"].startswith("apache/kafka:4.")
    registry = data["services"]["registry"]
    assert registry["build"] == "."
    assert (ROOT / registry["build"] / "Dockerfile").is_file()
    volume = kafka["volumes"][0].split(":")
    assert volume[0] in data["volumes"]
    assert volume[1] == kafka_env()["KAFKA_LOG_DIRS"]


def test_kafka_is_a_single_kraft_node():
    env = kafka_env()
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(bound) <= set(protocols), "every listener needs a security protocol"
    assert set(advertised) <= set(bound), "only bound listeners can be advertised"
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in bound
    assert controller not in advertised, "brokers do not advertise the controller listener"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    voter_id, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split("@")
    assert voter_id == env["KAFKA_NODE_ID"]
    assert voter == f"kafka:{bound[controller][1]}"
    cluster_id = base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")
    assert len(cluster_id) == 16, "CLUSTER_ID is a base64url UUID (kafka-storage.sh random-uuid)"


def test_single_node_internal_topics_need_one_replica():
    env = kafka_env()
    # The defaults (3) leave the offsets and transaction-state topics uncreatable on one node, and
    # the registry's transactional producer then never gets a coordinator.
    for name in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env.get(name) == "1", name


def test_kafka_ports_clients_on_the_host_and_in_the_network():
    data = load()
    env = kafka_env()
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    ports = published(data["services"]["kafka"])
    # The host reaches the EXTERNAL listener on 9092, and that is what it is told to use.
    assert advertised["EXTERNAL"] == ("localhost", 9092)
    assert ports[bound["EXTERNAL"][1]] == 9092
    assert set(ports) == {bound["EXTERNAL"][1]}, "only the EXTERNAL listener is published"
    # Containers use the INTERNAL listener, the address the registry is given.
    internal = "{}:{}".format(*advertised["INTERNAL"])
    params = parse_mesh(data["services"]["registry"]["command"]).params
    assert params["bootstrap_servers"] == internal
    # The healthcheck probes the INTERNAL listener's port from inside the container.
    check = " ".join(data["services"]["kafka"]["healthcheck"]["test"])
    assert f"/dev/tcp/127.0.0.1/{bound['INTERNAL'][1]}" in check, check


@pytest.mark.parametrize("source", ["compose", "dockerfile"])
def test_registry_command_is_one_our_cli_accepts(source):
    argv = load()["services"]["registry"]["command"] if source == "compose" else dockerfile_cmd()
    params = parse_mesh(argv).params
    assert params["host"] == "0.0.0.0"
    assert params["port"] == 8081
    assert params["bootstrap_servers"] == "kafka:9092"


def test_parse_mesh_rejects_a_flag_our_cli_does_not_have():
    with pytest.raises(click.NoSuchOption):
        parse_mesh(["mesh", "registry", "serve", "--listen", "0.0.0.0"])


def test_registry_port_healthcheck_and_start_order():
    registry = load()["services"]["registry"]
    port = parse_mesh(registry["command"]).params["port"]
    assert published(registry) == {port: 8081}
    check = " ".join(registry["healthcheck"]["test"])
    assert re.search(rf"http://(127\.0\.0\.1|localhost):{port}/subjects", check), check
    assert registry["depends_on"] == {"kafka": {"condition": "service_healthy"}}


def test_every_service_has_a_healthcheck():
    for name, service in load()["services"].items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert check["retries"] >= 3, name


def test_the_documented_exports_point_mesh_at_the_published_ports(monkeypatch):
    exports = dict(
        re.findall(r"^#\s+export (STREAMS_\w+)=(\S+)$", COMPOSE.read_text(), flags=re.MULTILINE)
    )
    assert set(exports) == {"STREAMS_KAFKA__BOOTSTRAP_SERVERS", "STREAMS_REGISTRY__URL"}
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    data = load()
    advertised = listeners(kafka_env()["KAFKA_ADVERTISED_LISTENERS"])["EXTERNAL"]
    assert settings.kafka.bootstrap_servers == "{}:{}".format(*advertised)
    registry_port = published(data["services"]["registry"])[8081]
    assert settings.registry.url == f"http://localhost:{registry_port}"


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", value)
    assert match, f"durations here are like 10s or 1m, not {value!r}"
    return int(match[1]) * (60 if match[2] == "m" else 1)


def test_kafkas_healthcheck_starts_no_jvm():
    """A Kafka CLI tool is a JVM of its own: probed every few seconds for the container's life,
    it costs more than the broker's idle work. A TCP connect in bash (which the image's scripts
    need anyway) says the listener is up; the registry retries until Kafka answers."""
    check = load()["services"]["kafka"]["healthcheck"]
    test = " ".join(check["test"])
    assert check["test"][:2] == ["CMD", "bash"], test
    assert ".sh" not in test, test
    assert "java" not in test, test
    assert _seconds(check["interval"]) >= 10
    assert _seconds(check["start_period"]) >= 10


def test_long_running_services_restart_unless_stopped():
    for name, service in load()["services"].items():
        assert service.get("restart") == "unless-stopped", name


def test_readme_warns_that_mesh_up_uses_the_same_host_ports():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### With docker compose") :]
    section = section[: section.index("\n#", 1)]
    assert "mesh up --free-ports" in section
    assert all(port in section for port in ("9092", "8081"))
    assert "collide" in section
