"""The embedded platform lifecycle: start, already running, status, stop by PID, failures."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.config import LocalSettings
from streams.errors import (
    PlatformError,
    PlatformNotRunningError,
    PlatformStartError,
    PortInUseError,
)
from streams.local import EmbeddedPlatform, PlatformInfo, start, status, stop
from streams.local._ports import find_free_port
from streams.local._state import PlatformState, ServiceRecord, state_path, write_state
from tests.helpers.kafka import admin_auth

HOST = "127.0.0.1"


def _gone(pid: int) -> bool:
    """True when no live process has ``pid`` (independent of the code under test)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _cleanup(state_dir: Path) -> None:
    if state_path(state_dir).exists():
        stop(state_dir, timeout_s=5.0)


@pytest.fixture
def own_platform(tmp_path: Path) -> Iterator[PlatformInfo]:
    """A platform of this test's own, not the session one."""
    info = start(LocalSettings(web=False, state_dir=tmp_path), free_ports=True)
    try:
        yield info
    finally:
        _cleanup(tmp_path)


def test_start_records_state_and_answers(own_platform: PlatformInfo, tmp_path: Path) -> None:
    info = own_platform
    assert not info.already_running
    assert info.state_dir == tmp_path.absolute()
    assert info.broker_log == tmp_path / "logs" / "broker.log"
    assert info.registry_log == tmp_path / "logs" / "registry.log"
    assert not _gone(info.broker_pid)
    assert not _gone(info.registry_pid)

    recorded = json.loads((tmp_path / "platform.json").read_text())
    assert recorded["bootstrap_servers"] == info.bootstrap_servers
    assert recorded["registry_url"] == info.registry_url
    for name, pid in (("broker", info.broker_pid), ("registry", info.registry_pid)):
        service = recorded[name]
        assert service["pid"] == pid
        assert Path(service["log"]).is_file()
        assert (
            service["command"]
            == Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
        )
        assert datetime.fromisoformat(service["started_at"]) <= datetime.now(UTC)
        assert isinstance(service["ready_ms"], int)
    assert recorded["broker"]["address"] == f"{HOST}:{recorded['broker']['port']}"
    assert recorded["registry"]["command"][-2:] == ["--bootstrap-servers", info.bootstrap_servers]

    assert httpx.get(info.registry_url + "/", trust_env=False).status_code == 401
    assert httpx.get(info.registry_url + "/", auth=admin_auth(info), trust_env=False).is_success
    admin = info.state_dir / "credentials" / "admin.json"
    assert info.admin_credential == admin
    assert oct(admin.stat().st_mode & 0o777) == "0o600"
    assert recorded["auth"] is True
    metadata = AdminClient({"bootstrap.servers": info.bootstrap_servers}).list_topics(timeout=10)
    assert metadata.brokers


def test_second_start_reports_already_running(own_platform: PlatformInfo, tmp_path: Path) -> None:
    before = (tmp_path / "platform.json").read_bytes()
    again = start(LocalSettings(web=False, state_dir=tmp_path), free_ports=True)
    assert again.already_running
    assert (again.broker_pid, again.registry_pid) == (
        own_platform.broker_pid,
        own_platform.registry_pid,
    )
    assert again.bootstrap_servers == own_platform.bootstrap_servers
    assert (tmp_path / "platform.json").read_bytes() == before


def test_status_then_stop_kills_exactly_the_recorded_pids(own_platform: PlatformInfo) -> None:
    state_dir = own_platform.state_dir
    report = status(state_dir)
    assert report.running
    assert own_platform.monitor_pid is not None
    assert [(s.name, s.state, s.pid) for s in report.services] == [
        ("broker", "running", own_platform.broker_pid),
        ("registry", "running", own_platform.registry_pid),
        ("monitor", "running", own_platform.monitor_pid),
    ]
    assert report.services[0].address == own_platform.bootstrap_servers
    assert report.services[1].address == own_platform.registry_url

    result = stop(state_dir)
    assert [(s.name, s.pid, s.outcome) for s in result.services] == [
        ("monitor", own_platform.monitor_pid, "stopped"),
        ("registry", own_platform.registry_pid, "stopped"),
        ("broker", own_platform.broker_pid, "stopped"),
    ]
    assert _gone(own_platform.broker_pid)
    assert _gone(own_platform.registry_pid)
    assert _gone(own_platform.monitor_pid)
    assert not state_path(state_dir).exists()
    assert [(s.name, s.state) for s in status(state_dir).services] == [
        ("broker", "stopped"),
        ("registry", "stopped"),
        ("monitor", "stopped"),
        ("web", "stopped"),  # mesh down forgets whether it ran: listed, so never left out
    ]
    with pytest.raises(PlatformNotRunningError, match="nothing to stop"):
        stop(state_dir)


def test_a_dead_monitor_is_started_again_by_the_next_start(
    own_platform: PlatformInfo, tmp_path: Path
) -> None:
    # The broker and registry hold the data; the monitor resumes from its checkpoints, so
    # `mesh up` restarts just the monitor instead of calling the platform "partly running".
    assert own_platform.monitor_pid is not None
    os.kill(own_platform.monitor_pid, signal.SIGKILL)
    while not _gone(own_platform.monitor_pid):
        time.sleep(0.05)
    assert [s.state for s in status(tmp_path).services][2] == "dead-but-recorded"
    again = start(LocalSettings(web=False, state_dir=tmp_path), free_ports=True)
    assert again.already_running
    assert again.monitor_restarted  # what `mesh up` reports, instead of "nothing changed"
    assert again.broker_pid == own_platform.broker_pid
    assert again.monitor_pid not in (None, own_platform.monitor_pid)
    assert not start(
        LocalSettings(web=False, state_dir=tmp_path), free_ports=True
    ).monitor_restarted
    assert [s.state for s in status(tmp_path).services] == ["running"] * 3
    assert "monitor ready" in (tmp_path / "logs" / "monitor.log").read_text()


def test_a_dead_registry_is_started_again_keeping_the_broker_and_its_topics(
    tmp_path: Path,
) -> None:
    # The in-memory broker holds every topic (the registry's _schemas too): `mesh up` restarts
    # just the registry, on its recorded port, instead of calling the platform "partly running".
    settings = LocalSettings(web=False, state_dir=tmp_path, monitor=False)
    try:
        first = start(settings, free_ports=True)
        topic = f"kept-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": first.bootstrap_servers})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[
            topic
        ].result(10)
        schema = {"schema": '{"type": "record", "name": "R", "fields": []}'}
        auth = admin_auth(first)
        assert httpx.post(
            f"{first.registry_url}/subjects/{topic}-value/versions",
            json=schema,
            auth=auth,
            trust_env=False,
        ).is_success
        os.kill(first.registry_pid, signal.SIGKILL)
        while not _gone(first.registry_pid):
            time.sleep(0.05)

        again = start(settings, free_ports=True)
        assert again.already_running
        assert again.registry_restarted
        assert again.broker_pid == first.broker_pid
        assert again.registry_pid != first.registry_pid
        assert again.registry_url == first.registry_url  # clients keep the URL
        assert topic in admin.list_topics(timeout=10).topics
        assert again.auth  # the restarted registry authenticates as the same admin
        subjects = httpx.get(f"{again.registry_url}/subjects", auth=auth, trust_env=False).json()
        assert f"{topic}-value" in subjects
        assert status(tmp_path).running
        assert not start(settings, free_ports=True).registry_restarted
    finally:
        _cleanup(tmp_path)


def test_the_monitor_can_be_left_out(tmp_path: Path) -> None:
    with EmbeddedPlatform(
        settings=LocalSettings(web=False, state_dir=tmp_path, monitor=False), free_ports=True
    ) as info:
        assert info.monitor_pid is None
        assert [(s.name, s.state) for s in status(tmp_path).services] == [
            ("broker", "running"),
            ("registry", "running"),
            ("monitor", "stopped"),
        ]


def test_embedded_platform_context_manager(tmp_path: Path) -> None:
    with EmbeddedPlatform(state_dir=tmp_path, free_ports=True) as info:
        pids = (info.broker_pid, info.registry_pid)
        assert status(tmp_path).running
    assert all(_gone(pid) for pid in pids)
    assert not state_path(tmp_path).exists()


@pytest.mark.parametrize(
    ("taken", "flag"), [("broker_port", "--broker-port"), ("registry_port", "--registry-port")]
)
def test_port_in_use_is_refused_with_a_fix(tmp_path: Path, taken: str, flag: str) -> None:
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        other = find_free_port(HOST, exclude=frozenset({port}))
        ports = {"broker_port": other, "registry_port": other, taken: port}
        settings = LocalSettings(web=False, state_dir=tmp_path, **ports)
        expected = (
            f"port {port} on 127.0.0.1 is in use; stop what uses it, pass {flag}, "
            "or use --free-ports"
        )
        try:
            with pytest.raises(PortInUseError, match=re.escape(expected)) as caught:
                start(settings)
        finally:
            _cleanup(tmp_path)
    assert caught.value.port == port
    assert not state_path(tmp_path).exists()


def test_a_busy_controller_port_names_its_variable(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        broker, registry = find_free_port(HOST), find_free_port(HOST)
        settings = LocalSettings(
            state_dir=tmp_path,
            broker="kafka",
            broker_port=broker,
            registry_port=registry,
            controller_port=port,
        )
        with pytest.raises(PortInUseError) as caught:
            start(settings)
    assert "STREAMS_LOCAL__CONTROLLER_PORT" in str(caught.value)
    assert "--free-ports" in str(caught.value)
    assert "local.controller_port" not in str(caught.value)


def test_tansu_on_a_state_dir_holding_kafka_data_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kafka" / "data").mkdir(parents=True)
    (tmp_path / "kafka" / "data" / "meta.properties").write_text("node.id=1\n")
    with pytest.raises(PlatformError, match=r"holds Apache Kafka's data") as caught:
        start(LocalSettings(web=False, state_dir=tmp_path, broker="tansu"), free_ports=True)
    assert "mesh up --state-dir" in str(caught.value)
    assert not state_path(tmp_path).exists()


def _fake_state(
    state_dir: Path,
    *,
    broker_pid: int,
    registry_pid: int,
    broker_command: list[str] | None = None,
) -> None:
    now = datetime.now(UTC)

    def record(name: str, pid: int, port: int, command: list[str]) -> ServiceRecord:
        return ServiceRecord.model_validate(
            {
                "name": name,
                "pid": pid,
                "host": HOST,
                "port": port,
                "address": f"{HOST}:{port}",
                "log": state_dir / "logs" / f"{name}.log",
                "command": command,
                "started_at": now,
            }
        )

    write_state(
        PlatformState(
            bootstrap_servers=f"{HOST}:1",
            registry_url=f"http://{HOST}:2",
            state_dir=state_dir,
            started_at=now,
            broker=record("broker", broker_pid, 1, broker_command or ["/nonexistent/tansu"]),
            registry=record("registry", registry_pid, 2, [sys.executable, "-m", "streams.cli"]),
        )
    )


def test_recycled_pid_is_never_killed(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    finished = subprocess.Popen(["true"])
    finished.wait()
    try:
        _fake_state(tmp_path, broker_pid=bystander.pid, registry_pid=finished.pid)
        assert [s.state for s in status(tmp_path).services] == [
            "dead-but-recorded",
            "dead-but-recorded",
            "stopped",  # a state without a monitor (--no-monitor, or an older platform.json)
        ]
        result = stop(tmp_path, timeout_s=1.0)
        assert {s.name: s.outcome for s in result.services} == {
            "broker": "not-ours",
            "registry": "already-dead",
        }
        assert bystander.poll() is None
        assert not state_path(tmp_path).exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ok', flush=True); time.sleep(60)"
    )
    command = [sys.executable, "-c", code]
    stubborn = subprocess.Popen(command, stdout=subprocess.PIPE)
    finished = subprocess.Popen(["true"])
    finished.wait()
    try:
        assert stubborn.stdout is not None
        assert stubborn.stdout.readline() == b"ok\n"
        _fake_state(
            tmp_path, broker_pid=stubborn.pid, registry_pid=finished.pid, broker_command=command
        )
        result = stop(tmp_path, timeout_s=0.3)
        assert {s.name: s.outcome for s in result.services}["broker"] == "killed"
        assert _gone(stubborn.pid)
    finally:
        stubborn.kill()
        stubborn.wait()
        if stubborn.stdout is not None:
            stubborn.stdout.close()


def test_stale_state_is_replaced_by_a_fresh_start(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    _fake_state(tmp_path, broker_pid=finished.pid, registry_pid=finished.pid)
    try:
        info = start(LocalSettings(web=False, state_dir=tmp_path), free_ports=True)
        assert not info.already_running
        assert status(tmp_path).running
    finally:
        _cleanup(tmp_path)


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if text.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in pids if not _gone(pid)]


def _broker_url_in(log: Path) -> str:
    match = re.findall(r"--listener-url (tcp://\S+)", log.read_text())
    assert match, log.read_text()
    return match[-1]


def _hooked_env(tmp_path: Path, hook: str) -> dict[str, str]:
    """An environment whose Python runs ``hook`` at start-up: only the registry is Python."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(hook)
    return {**os.environ, "PYTHONPATH": str(hook_dir)}


def test_registry_exit_fails_start_and_stops_the_broker(tmp_path: Path) -> None:
    env = _hooked_env(tmp_path, "import os\nprint('registry boom', flush=True)\nos._exit(3)\n")
    state_dir = tmp_path / "state"
    with pytest.raises(PlatformStartError) as caught:
        start(LocalSettings(web=False, state_dir=state_dir), free_ports=True, env=env)
    error = caught.value
    assert error.service == "registry"
    assert error.log_path == str(state_dir / "logs" / "registry.log")
    assert "exited with code 3" in str(error)
    assert "registry boom" in str(error)
    assert str(state_dir / "logs" / "registry.log") in str(error)
    assert not state_path(state_dir).exists()
    assert _processes_mentioning(_broker_url_in(state_dir / "logs" / "broker.log")) == []


def test_registry_timeout_fails_start_and_stops_everything(tmp_path: Path) -> None:
    env = _hooked_env(
        tmp_path, "import time\nprint('registry stuck', flush=True)\ntime.sleep(60)\n"
    )
    state_dir = tmp_path / "state"
    settings = LocalSettings(web=False, state_dir=state_dir, start_timeout_s=1.5)
    with pytest.raises(PlatformStartError, match=r"did not answer within 1\.5 s") as caught:
        start(settings, free_ports=True, env=env)
    assert caught.value.service == "registry"
    assert "registry stuck" in str(caught.value)
    assert _processes_mentioning(_broker_url_in(state_dir / "logs" / "broker.log")) == []


def test_session_platform_produces_and_consumes(platform: PlatformInfo) -> None:
    topic = f"test.local.{uuid.uuid4().hex}"
    admin = AdminClient({"bootstrap.servers": platform.bootstrap_servers})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(
        timeout=10
    )
    try:
        producer = Producer({"bootstrap.servers": platform.bootstrap_servers})
        for index in range(5):
            producer.produce(topic, key=str(index).encode(), value=f"v{index}".encode())
        assert producer.flush(10) == 0

        consumer = Consumer(
            {
                "bootstrap.servers": platform.bootstrap_servers,
                "group.id": f"test-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
            }
        )
        try:
            consumer.assign([TopicPartition(topic, 0, 0)])
            values: list[bytes] = []
            while len(values) < 5:
                message = consumer.poll(10)
                assert message is not None, f"only {values} arrived"
                assert message.error() is None
                values.append(message.value())
        finally:
            consumer.close()
        assert values == [f"v{index}".encode() for index in range(5)]
    finally:
        admin.delete_topics([topic])[topic].result(timeout=10)
