"""Start, stop and inspect the embedded platform: one broker and one schema registry."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from streams.config import LocalSettings
from streams.errors import PlatformError, PlatformNotRunningError
from streams.local import _kafka, _process, _services
from streams.local._models import (
    PlatformInfo,
    PlatformStatus,
    ServiceStatus,
    ServiceStop,
    StopOutcome,
    StopResult,
)
from streams.local._ports import check_port_free, find_free_port
from streams.local._state import (
    PlatformState,
    ServiceName,
    ServiceRecord,
    read_state,
    remove_state,
    state_path,
    write_state,
)

__all__ = ["EmbeddedPlatform", "start", "status", "stop"]

logger = logging.getLogger(__name__)

_SERVICES: tuple[ServiceName, ServiceName] = ("broker", "registry")


def _info(state: PlatformState, *, already_running: bool) -> PlatformInfo:
    return PlatformInfo(
        bootstrap_servers=state.bootstrap_servers,
        registry_url=state.registry_url,
        broker_pid=state.broker.pid,
        registry_pid=state.registry.pid,
        broker_log=state.broker.log,
        registry_log=state.registry.log,
        state_dir=state.state_dir,
        broker_kind=state.broker_kind,
        already_running=already_running,
    )


def _is_ours(record: ServiceRecord) -> bool:
    return _process.owns(record.pid, command=record.command, ticks=record.start_ticks)


def _choose_ports(settings: LocalSettings, *, free_ports: bool) -> tuple[int, int, int]:
    """Broker, registry and (Kafka only, else 0) KRaft controller ports."""
    host = settings.host
    kafka = settings.broker == "kafka"
    if free_ports:
        broker_port = find_free_port(host)
        registry_port = find_free_port(host, exclude=frozenset({broker_port}))
        if not kafka:
            return broker_port, registry_port, 0
        return (
            broker_port,
            registry_port,
            find_free_port(host, exclude=frozenset({broker_port, registry_port})),
        )
    wanted = [settings.broker_port, settings.registry_port]
    if kafka:
        wanted.append(settings.controller_port)
    if len(set(wanted)) != len(wanted):
        raise PlatformError(
            f"the broker, the registry (and Kafka's controller) cannot share ports {wanted}; "
            "pass different --broker-port and --registry-port (and STREAMS_LOCAL__CONTROLLER_PORT)"
        )
    check_port_free(host, settings.broker_port, flag="--broker-port")
    check_port_free(host, settings.registry_port, flag="--registry-port")
    if kafka:
        check_port_free(
            host,
            settings.controller_port,
            flag="another port in STREAMS_LOCAL__CONTROLLER_PORT (Kafka's controller)",
        )
    return settings.broker_port, settings.registry_port, settings.controller_port if kafka else 0


def _broker_command(
    settings: LocalSettings,
    *,
    state_dir: Path,
    port: int,
    controller_port: int,
    env: Mapping[str, str],
    deadline: float,
) -> list[str]:
    """The broker's command line; for Kafka also checks Java and the jars and formats storage."""
    host = settings.host
    if settings.broker == "tansu":
        return _services.broker_command(_services.resolve_broker_binary(), host=host, port=port)
    return _kafka.prepare(
        settings,
        state_dir=state_dir,
        port=port,
        controller_port=controller_port,
        env=env,
        deadline=deadline,
    )


def _existing(state_dir: Path) -> PlatformState | None:
    """The recorded platform if fully running; None if nothing (or only corpses) is recorded."""
    state = read_state(state_dir)
    if state is None:
        return None
    alive = [record.name for record in state.services if _is_ours(record)]
    if len(alive) == len(state.services):
        return state
    if alive:
        dead = sorted(set(_SERVICES) - set(alive))
        raise PlatformError(
            f"the platform in {state_dir} is only partly running ({', '.join(dead)} is dead; "
            f"see {state_dir / 'logs'}); run `mesh down` and then `mesh up`"
        )
    logger.info("removing stale %s: none of its processes is running", state_path(state_dir))
    remove_state(state_dir)
    return None


def _choose_broker(
    settings: LocalSettings, state_dir: Path, existing: PlatformState | None
) -> LocalSettings:
    """The broker kind to run: the running one, else Kafka where its data is, else the setting.

    Only an explicit choice (flag, environment, profile) can differ from what the state
    directory holds, and then it is refused rather than starting an empty broker beside the data.
    """
    chosen = "broker" in settings.model_fields_set
    if existing is not None:
        if chosen and existing.broker_kind != settings.broker:
            raise PlatformError(
                f"a platform on {existing.broker_kind} is already running in {state_dir}; "
                f"run `mesh down` before `mesh up --broker {settings.broker}`"
            )
        return settings.model_copy(update={"broker": existing.broker_kind})
    if not _kafka.holds_data(state_dir):
        return settings
    if chosen and settings.broker != "kafka":
        raise PlatformError(
            f"{state_dir} holds Apache Kafka's data from an earlier `mesh up --broker kafka`; "
            f"`mesh up --state-dir {state_dir}` starts that Kafka again (data kept), or choose "
            f"another --state-dir for {settings.broker}"
        )
    if not chosen:
        logger.info(
            "starting Apache Kafka: %s holds its data from an earlier `mesh up --broker kafka`",
            state_dir,
        )
    return settings.model_copy(update={"broker": "kafka"})


def _open_log(path: Path, command: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(f"\n=== {datetime.now(UTC).isoformat()} starting: {' '.join(command)}\n")


def _launch(
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
        start_ticks=_process.start_ticks(pid),
    )
    return record, began


def _ready(record: ServiceRecord, began: float) -> ServiceRecord:
    ready_ms = round((time.monotonic() - began) * 1000)
    logger.info("%s ready at %s in %d ms", record.name, record.address, ready_ms)
    return record.model_copy(update={"ready_ms": ready_ms})


def start(
    settings: LocalSettings,
    *,
    free_ports: bool = False,
    env: Mapping[str, str] | None = None,
) -> PlatformInfo:
    """Start the broker and the registry in the background, or find them already running.

    The processes run in their own session and outlive the caller; :func:`stop` ends them.

    Args:
        settings: Host, ports, state directory and start timeout.
        free_ports: Let the kernel choose free ports instead of the configured ones.
        env: Environment of the services; defaults to this process's environment.

    Returns:
        Where the platform answers; ``already_running`` is True when nothing was started.

    Raises:
        PortInUseError: A configured port is taken (and ``free_ports`` is False).
        PlatformStartError: A service exited or did not answer within ``start_timeout_s``;
            everything started by this call has been stopped again.
        PlatformError: The recorded platform is only partly running.
    """
    state_dir = settings.state_dir.absolute()
    existing = _existing(state_dir)
    settings = _choose_broker(settings, state_dir, existing)
    if existing is not None:
        logger.info("platform in %s is already running", state_dir)
        return _info(existing, already_running=True)

    host = settings.host
    broker_port, registry_port, controller_port = _choose_ports(settings, free_ports=free_ports)
    bootstrap_servers = f"{host}:{broker_port}"
    registry_url = f"http://{host}:{registry_port}"
    # The services inherit our environment (PATH, locale, proxies) like any child process.
    child_env = dict(os.environ if env is None else env)
    timeout_s = settings.start_timeout_s
    deadline = time.monotonic() + timeout_s
    logs = state_dir / "logs"
    started: list[int] = []
    try:
        broker_cmd = _broker_command(
            settings,
            state_dir=state_dir,
            port=broker_port,
            controller_port=controller_port,
            env=child_env,
            deadline=deadline,
        )
        broker, began = _launch(
            "broker",
            broker_cmd,
            host=host,
            port=broker_port,
            address=bootstrap_servers,
            log_path=logs / "broker.log",
            env=child_env,
            started=started,
        )
        _services.wait_broker_ready(
            pid=broker.pid,
            host=host,
            port=broker_port,
            log_path=broker.log,
            deadline=deadline,
            timeout_s=timeout_s,
        )
        broker = _ready(broker, began)

        registry_cmd = _services.registry_command(
            host=host, port=registry_port, bootstrap_servers=bootstrap_servers
        )
        registry, began = _launch(
            "registry",
            registry_cmd,
            host=host,
            port=registry_port,
            address=registry_url,
            log_path=logs / "registry.log",
            # Our broker is PLAINTEXT: settings exported for another cluster (SASL, TLS) must
            # not reach its registry, which reads the whole `kafka` settings.
            env={k: v for k, v in child_env.items() if not k.startswith("STREAMS_KAFKA")},
            started=started,
        )
        _services.wait_registry_ready(
            pid=registry.pid,
            url=registry_url,
            log_path=registry.log,
            deadline=deadline,
            timeout_s=timeout_s,
        )
        registry = _ready(registry, began)

        state = PlatformState(
            bootstrap_servers=bootstrap_servers,
            registry_url=registry_url,
            state_dir=state_dir,
            broker_kind=settings.broker,
            started_at=broker.started_at,
            broker=broker,
            registry=registry,
        )
        write_state(state)
    except BaseException:
        # Also on Ctrl-C: nothing we spawned may outlive a failed start unrecorded.
        for pid in reversed(started):
            _process.terminate(pid, timeout_s=5.0)
        raise
    return _info(state, already_running=False)


def stop(state_dir: Path, *, timeout_s: float = 10.0) -> StopResult:
    """Stop exactly the processes recorded in ``<state_dir>/platform.json`` and forget them.

    A recorded PID is signalled only while it still runs the recorded command line, so a PID
    the kernel has since given to another program is left alone.

    Args:
        state_dir: The platform's state directory.
        timeout_s: Grace period after SIGTERM before SIGKILL, per process.

    Returns:
        What happened to each service.

    Raises:
        PlatformNotRunningError: No platform is recorded in ``state_dir``.
    """
    state_dir = state_dir.absolute()
    state = read_state(state_dir)
    if state is None:
        raise PlatformNotRunningError(
            f"no platform recorded in {state_path(state_dir)}; nothing to stop"
        )
    results: list[ServiceStop] = []
    for record in reversed(state.services):
        outcome: StopOutcome
        if _is_ours(record):
            outcome = _process.terminate(record.pid, timeout_s=timeout_s)
        elif _process.is_alive(record.pid):
            logger.warning(
                "not stopping pid %d: it no longer runs the recorded %s", record.pid, record.name
            )
            outcome = "not-ours"
        else:
            outcome = "already-dead"
        logger.info("%s (pid %d): %s", record.name, record.pid, outcome)
        results.append(ServiceStop(name=record.name, pid=record.pid, outcome=outcome))
    remove_state(state_dir)
    return StopResult(state_dir=state_dir, services=tuple(results))


def status(state_dir: Path) -> PlatformStatus:
    """Inspect the platform recorded in ``state_dir`` without changing anything.

    Args:
        state_dir: The platform's state directory.

    Returns:
        One entry per service.
    """
    state_dir = state_dir.absolute()
    state = read_state(state_dir)
    if state is None:
        services = tuple(ServiceStatus(name=name, state="stopped") for name in _SERVICES)
        return PlatformStatus(state_dir=state_dir, services=services)
    services = tuple(
        ServiceStatus(
            name=record.name,
            state="running" if _is_ours(record) else "dead-but-recorded",
            address=record.address,
            pid=record.pid,
            log=record.log,
        )
        for record in state.services
    )
    return PlatformStatus(state_dir=state_dir, services=services, broker_kind=state.broker_kind)


class EmbeddedPlatform:
    """Context manager running the platform for the duration of a block.

    A platform that was already running in ``state_dir`` is used but not stopped on exit.

    Example:
        >>> with EmbeddedPlatform(state_dir=tmp_path, free_ports=True) as info:
        ...     print(info.bootstrap_servers, info.registry_url)
    """

    def __init__(
        self,
        *,
        state_dir: Path | str | None = None,
        settings: LocalSettings | None = None,
        free_ports: bool = False,
        stop_timeout_s: float = 10.0,
    ) -> None:
        """Configure, without starting anything.

        Args:
            state_dir: Overrides ``settings.state_dir``.
            settings: Local platform settings; defaults to :class:`LocalSettings`.
            free_ports: Let the kernel choose free ports.
            stop_timeout_s: Grace period after SIGTERM on exit.
        """
        settings = settings or LocalSettings()
        if state_dir is not None:
            settings = settings.model_copy(update={"state_dir": Path(state_dir)})
        self._settings = settings
        self._free_ports = free_ports
        self._stop_timeout_s = stop_timeout_s
        self._info: PlatformInfo | None = None

    @property
    def info(self) -> PlatformInfo:
        """Where the platform answers.

        Raises:
            PlatformNotRunningError: The block has not been entered.
        """
        if self._info is None:
            raise PlatformNotRunningError("EmbeddedPlatform is not started; use it in a `with`")
        return self._info

    def __enter__(self) -> PlatformInfo:
        self._info = start(self._settings, free_ports=self._free_ports)
        return self._info

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        info, self._info = self._info, None
        if info is not None and not info.already_running:
            stop(info.state_dir, timeout_s=self._stop_timeout_s)
