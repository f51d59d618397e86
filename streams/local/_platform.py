"""Start, stop and inspect the embedded platform: a broker, a schema registry, the guarantees
monitor and the web catalog."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from streams.config import LocalSettings
from streams.errors import PlatformError, PlatformNotRunningError
from streams.identity import Credential
from streams.local import _choices, _process, _services
from streams.local._kafka import SCRAM
from streams.local._login import broker_client, platform_admin, recorded_env, service_env
from streams.local._models import (
    PlatformInfo,
    PlatformStatus,
    ServiceStatus,
    ServiceStop,
    StopOutcome,
    StopResult,
)
from streams.local._ports import check_port_free, is_port_free
from streams.local._state import (
    PlatformState,
    ServiceName,
    ServiceRecord,
    read_state,
    remove_state,
    state_path,
    write_state,
)
from streams.local._web import launch_web, restart_web, web_ready
from streams.pii import KEYS_DIR

__all__ = ["EmbeddedPlatform", "start", "status", "stop"]

logger = logging.getLogger(__name__)

# Listed as stopped when no platform is recorded: `mesh down` forgets what ran, so every service
# `mesh up` may start is named (the web catalog too). A recorded platform lists what it recorded
# (and its monitor, stopped, when it ran without one).
_SERVICES: tuple[ServiceName, ...] = ("broker", "registry", "monitor", "web")


def _info(
    state: PlatformState,
    *,
    already_running: bool,
    admin_file: Path | None = None,
    monitor_restarted: bool = False,
    registry_restarted: bool = False,
) -> PlatformInfo:
    return PlatformInfo(
        bootstrap_servers=state.bootstrap_servers,
        registry_url=state.registry_url,
        broker_pid=state.broker.pid,
        registry_pid=state.registry.pid,
        broker_log=state.broker.log,
        registry_log=state.registry.log,
        state_dir=state.state_dir,
        broker_kind=state.broker_kind,
        security_protocol=state.security_protocol,
        sasl_mechanism=state.sasl_mechanism,
        already_running=already_running,
        monitor_pid=state.monitor.pid if state.monitor else None,
        monitor_log=state.monitor.log if state.monitor else None,
        web_url=state.web.address if state.web else None,
        web_pid=state.web.pid if state.web else None,
        web_log=state.web.log if state.web else None,
        monitor_restarted=monitor_restarted,
        registry_restarted=registry_restarted,
        auth=state.auth,
        admin_credential=admin_file,
    )


def _is_ours(record: ServiceRecord) -> bool:
    return _process.owns(record.pid, command=record.command, created=record.created)


def _existing(state_dir: Path) -> PlatformState | None:
    """The recorded platform if its broker runs (its registry may have died: :func:`start`
    restarts it); None if nothing (or only corpses) is recorded."""
    state = read_state(state_dir)
    if state is None:
        return None
    if _is_ours(state.broker):
        return state
    if _is_ours(state.registry):
        raise PlatformError(
            f"the platform in {state_dir} is only partly running (broker is dead; see "
            f"{state_dir / 'logs'}); run `mesh down` and then `mesh up`"
        )
    logger.info("removing stale %s: none of its processes is running", state_path(state_dir))
    remove_state(state_dir)
    return None


def _restart_registry(
    settings: LocalSettings, state: PlatformState, env: Mapping[str, str]
) -> PlatformState:
    """Start the registry of a platform whose broker runs but whose registry died, on its
    recorded port: the broker (with every topic, ``_schemas`` included) is left alone, so the
    registry comes back with every schema and clients keep its URL."""
    record = state.registry
    logger.info(
        "the registry of %s is not running: starting it again on %s",
        state.state_dir,
        record.address,
    )
    # A registry that has just died may hold its port for a moment.
    settle = time.monotonic() + 2.0
    while not is_port_free(record.host, record.port) and time.monotonic() < settle:
        time.sleep(0.05)
    check_port_free(record.host, record.port, flag="--registry-port")
    started: list[int] = []
    timeout_s = settings.start_timeout_s
    try:
        registry, began = _services.launch(
            "registry",
            _services.registry_command(
                host=record.host, port=record.port, bootstrap_servers=state.bootstrap_servers
            ),
            host=record.host,
            port=record.port,
            address=record.address,
            log_path=record.log,
            env=env,
            started=started,
        )
        _services.wait_registry_ready(
            pid=registry.pid,
            url=record.address,
            log_path=registry.log,
            deadline=time.monotonic() + timeout_s,
            timeout_s=timeout_s,
        )
    except BaseException:
        for pid in started:
            _process.terminate(pid, timeout_s=5.0)
        raise
    state = state.model_copy(update={"registry": _services.ready(registry, began)})
    write_state(state)
    return state


def _start_monitor(
    settings: LocalSettings,
    bootstrap_servers: str,
    registry_url: str,
    logs: Path,
    env: Mapping[str, str],
    started: list[int],
    deadline: float,
) -> ServiceRecord | None:
    """Start the monitor; ``env`` is the services' environment (:func:`_service_env`)."""
    if not settings.monitor:
        return None
    command = _services.monitor_command(
        bootstrap_servers=bootstrap_servers, registry_url=registry_url
    )
    monitor, began = _services.launch(
        "monitor",
        command,
        host=settings.host,
        port=0,
        address="_mesh.observations",
        log_path=logs / "monitor.log",
        env=env,
        started=started,
    )
    _services.wait_monitor_ready(
        pid=monitor.pid,
        log_path=monitor.log,
        deadline=deadline,
        timeout_s=settings.start_timeout_s,
    )
    return _services.ready(monitor, began)


def _restart_monitor(
    settings: LocalSettings, state: PlatformState, env: Mapping[str, str]
) -> PlatformState:
    """Start the monitor of a running platform whose monitor is dead (or was not started)."""
    logger.info("the guarantees monitor of %s is not running: starting it", state.state_dir)
    started: list[int] = []
    try:
        monitor = _start_monitor(
            settings,
            state.bootstrap_servers,
            state.registry_url,
            state.state_dir / "logs",
            dict(env),
            started,
            time.monotonic() + settings.start_timeout_s,
        )
    except BaseException:
        for pid in started:
            _process.terminate(pid, timeout_s=5.0)
        raise
    state = state.model_copy(update={"monitor": monitor})
    write_state(state)
    return state


def start(
    settings: LocalSettings,
    *,
    free_ports: bool = False,
    env: Mapping[str, str] | None = None,
    admin: Credential | None = None,
) -> PlatformInfo:
    """Start the broker, the registry and (unless ``settings.monitor`` is off) the guarantees
    monitor in the background, or find them already running.

    The processes run in their own session and outlive the caller; :func:`stop` ends them.

    Args:
        settings: Host, ports, state directory and start timeout.
        free_ports: Let the kernel choose free ports instead of the configured ones.
        env: Environment of the services; defaults to this process's environment.
        admin: The admin credential when configured (settings' identity); else, with
            ``settings.auth``, ``<state_dir>/credentials/admin.json`` (written, mode 0600, if
            missing). The registry runs as the admin; on Apache Kafka it is also the SCRAM super
            user the registry and the monitor log in as.

    Returns:
        Where the platform answers; ``already_running`` is True when nothing was started.

    Raises:
        PortInUseError: A configured port is taken (and ``free_ports`` is False).
        PlatformStartError: A service exited or did not answer within ``start_timeout_s``;
            everything started by this call has been stopped again.
        PlatformError: The recorded platform's broker died (its registry is restarted when only
            the registry died, keeping the broker and every topic).
    """
    state_dir = settings.state_dir.absolute()
    existing = _existing(state_dir)
    settings = _choices.choose_broker(settings, state_dir, existing)
    base_env = dict(os.environ if env is None else env)
    if existing is not None:
        logger.info("platform in %s is already running", state_dir)
        admin_file, services_env = recorded_env(base_env, existing, admin=admin)
        registry_restarted = not _is_ours(existing.registry)
        if registry_restarted:
            existing = _restart_registry(settings, existing, services_env)
        monitor = existing.monitor
        restarted = settings.monitor and (monitor is None or not _is_ours(monitor))
        if restarted:
            existing = _restart_monitor(settings, existing, services_env)
        web = existing.web
        if settings.web and (web is None or not _is_ours(web)):
            logger.info("the web catalog of %s is not running: starting it", state_dir)
            existing = restart_web(settings, existing, services_env)
        return _info(
            existing,
            already_running=True,
            monitor_restarted=restarted,
            registry_restarted=registry_restarted,
            admin_file=admin_file,
        )
    credential, admin_file = platform_admin(settings.auth, state_dir, admin)

    host = settings.host
    broker_port, registry_port, controller_port = _choices.choose_ports(
        settings, free_ports=free_ports
    )
    bootstrap_servers = f"{host}:{broker_port}"
    registry_url = f"http://{host}:{registry_port}"
    # The services inherit our environment (PATH, locale, proxies) like any child process.
    child_env = base_env
    timeout_s = settings.start_timeout_s
    deadline = time.monotonic() + timeout_s
    logs = state_dir / "logs"
    # Tansu has no SASL: only Apache Kafka authenticates clients (the registry still does).
    sasl = settings.auth and settings.kafka_sasl and settings.broker == "kafka"
    mechanism = SCRAM if sasl else None
    services_env = service_env(
        child_env,
        auth=settings.auth,
        admin=credential,
        admin_file=admin_file,
        sasl_mechanism=mechanism,
        broker_kind=settings.broker,
        keys_dir=state_dir / KEYS_DIR,
    )
    started: list[int] = []
    try:
        broker_cmd = _choices.broker_command(
            settings,
            state_dir=state_dir,
            port=broker_port,
            controller_port=controller_port,
            env=child_env,
            deadline=deadline,
            admin=credential if mechanism else None,
        )
        broker, began = _services.launch(
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
            client=broker_client(bootstrap_servers, sasl_mechanism=mechanism, admin=credential),
        )
        broker = _services.ready(broker, began)

        registry_cmd = _services.registry_command(
            host=host, port=registry_port, bootstrap_servers=bootstrap_servers
        )
        registry, began = _services.launch(
            "registry",
            registry_cmd,
            host=host,
            port=registry_port,
            address=registry_url,
            log_path=logs / "registry.log",
            env=services_env,
            started=started,
        )
        _services.wait_registry_ready(
            pid=registry.pid,
            url=registry_url,
            log_path=registry.log,
            deadline=deadline,
            timeout_s=timeout_s,
        )
        registry = _services.ready(registry, began)
        launched = launch_web(
            settings,
            bootstrap_servers=bootstrap_servers,
            registry_url=registry_url,
            logs=logs,
            env=services_env,
            started=started,
            free_port=free_ports,
        )
        monitor = _start_monitor(
            settings, bootstrap_servers, registry_url, logs, services_env, started, deadline
        )
        web = web_ready(launched, settings, deadline=deadline)

        state = PlatformState(
            bootstrap_servers=bootstrap_servers,
            registry_url=registry_url,
            state_dir=state_dir,
            broker_kind=settings.broker,
            security_protocol="PLAINTEXT" if mechanism is None else "SASL_PLAINTEXT",
            sasl_mechanism=mechanism,
            started_at=broker.started_at,
            broker=broker,
            registry=registry,
            monitor=monitor,
            auth=settings.auth,
            web=web,
        )
        write_state(state)
    except BaseException:
        # Also on Ctrl-C: nothing we spawned may outlive a failed start unrecorded.
        for pid in reversed(started):
            _process.terminate(pid, timeout_s=5.0)
        raise
    return _info(state, already_running=False, admin_file=admin_file)


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
    if state.monitor is None:  # in its place: after the registry, before the web catalog
        services = (*services[:2], ServiceStatus(name="monitor", state="stopped"), *services[2:])
    return PlatformStatus(
        state_dir=state_dir, services=services, broker_kind=state.broker_kind, auth=state.auth
    )


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
