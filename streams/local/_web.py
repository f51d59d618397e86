"""The web catalog as a platform service: ``mesh web`` in its own process, started by ``mesh up``
after the monitor and stopped with the rest by PID."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from streams.config import LocalSettings
from streams.local import _process, _services
from streams.local._ports import check_port_free, find_free_port
from streams.local._state import PlatformState, ServiceRecord, write_state

__all__ = ["Launched", "launch_web", "restart_web", "wait_web_ready", "web_command", "web_ready"]


def web_command(*, host: str, port: int, bootstrap_servers: str, registry_url: str) -> list[str]:
    """The command line of the web catalog (``mesh web``) for this platform."""
    return [
        sys.executable,
        "-m",
        "streams.cli",
        "web",
        "--host",
        host,
        "--port",
        str(port),
        "--bootstrap-servers",
        bootstrap_servers,
        "--registry-url",
        registry_url,
    ]


def wait_web_ready(
    *, pid: int, url: str, log_path: Path, deadline: float, timeout_s: float
) -> None:
    """Block until ``GET <url>/healthz`` answers 200 (the first snapshot is read).

    Raises:
        PlatformStartError: The catalog exited or did not answer in time.
    """
    with httpx.Client(base_url=url, trust_env=False) as client:

        def probe(remaining: float) -> bool:
            try:
                answer = client.get("/healthz", timeout=min(2.0, remaining))
            except httpx.HTTPError:
                return False
            return answer.status_code == httpx.codes.OK

        _services.wait_until_ready(
            "web",
            pid=pid,
            log_path=log_path,
            deadline=deadline,
            timeout_s=timeout_s,
            probe=probe,
        )


Launched = tuple[ServiceRecord, float]
"""A web catalog launched but maybe not ready yet: its record and when it was launched."""


def launch_web(
    settings: LocalSettings,
    *,
    bootstrap_servers: str,
    registry_url: str,
    logs: Path,
    env: Mapping[str, str],
    started: list[int],
    free_port: bool,
) -> Launched | None:
    """Launch the web catalog unless ``settings.web`` is off, without waiting for it (so the
    monitor can start meanwhile: both spend their first seconds importing); ``env`` is the
    services' environment (it acts as the admin, so the grants can be listed)."""
    if not settings.web:
        return None
    host = settings.host
    if free_port:
        port = find_free_port(host)
    else:
        port = settings.web_port
        check_port_free(host, port, flag="--web-port")
    url = f"http://{host}:{port}"
    command = web_command(
        host=host, port=port, bootstrap_servers=bootstrap_servers, registry_url=registry_url
    )
    return _services.launch(
        "web",
        command,
        host=host,
        port=port,
        address=url,
        log_path=logs / "web.log",
        env=env,
        started=started,
    )


def web_ready(
    launched: Launched | None, settings: LocalSettings, *, deadline: float
) -> ServiceRecord | None:
    """Wait until a launched web catalog answers; its record with its start time."""
    if launched is None:
        return None
    record, began = launched
    wait_web_ready(
        pid=record.pid,
        url=record.address,
        log_path=record.log,
        deadline=deadline,
        timeout_s=settings.start_timeout_s,
    )
    return _services.ready(record, began)


def restart_web(
    settings: LocalSettings, state: PlatformState, env: Mapping[str, str]
) -> PlatformState:
    """Start the web catalog of a running platform whose catalog is dead (or was not started),
    on its recorded port when it had one."""
    started: list[int] = []
    recorded = state.web
    if recorded is not None:
        settings = settings.model_copy(update={"web_port": recorded.port})
    try:
        launched = launch_web(
            settings,
            bootstrap_servers=state.bootstrap_servers,
            registry_url=state.registry_url,
            logs=state.state_dir / "logs",
            env=env,
            started=started,
            free_port=False,
        )
        web = web_ready(launched, settings, deadline=time.monotonic() + settings.start_timeout_s)
    except BaseException:
        for pid in started:
            _process.terminate(pid, timeout_s=5.0)
        raise
    state = state.model_copy(update={"web": web})
    write_state(state)
    return state
