"""``mesh up``, ``mesh down``, ``mesh status``: the embedded platform."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
from rich.table import Table

from streams import local
from streams.cli._context import cli_settings
from streams.cli._output import err_console, out_console, output_option
from streams.config import LocalSettings, find_state_dir
from streams.errors import PlatformNotRunningError

__all__ = ["down", "local_settings", "status", "status_exit_code", "up"]

_STATE_COLOURS = {"running": "green", "stopped": "dim", "dead-but-recorded": "red"}

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where platform.json and logs/ live [default: local.state_dir setting, else the "
    "nearest .mesh above the current directory, else .mesh at the repository's root].",
)


def local_settings(**overrides: object) -> LocalSettings:
    """The local settings with the flags given, and the state directory resolved the way every
    command and the library find it (:func:`streams.config.find_state_dir`)."""
    settings = cli_settings().local
    update = {key: value for key, value in overrides.items() if value is not None}
    settings = settings.model_copy(update=update) if update else settings
    return settings.model_copy(update={"state_dir": find_state_dir(settings)})


@click.command()
@click.option("--broker-port", type=click.IntRange(1, 65535), default=None, help="[default: 9092]")
@click.option(
    "--registry-port", type=click.IntRange(1, 65535), default=None, help="[default: 8081]"
)
@click.option("--free-ports", is_flag=True, help="Let the system pick free ports.")
@click.option(
    "--broker",
    type=click.Choice(["tansu", "kafka"]),
    default=None,
    help="tansu: embedded, in memory; kafka: Apache Kafka (KRaft, durable, needs Java 17+) "
    "[default: local.broker setting, tansu].",
)
@click.option(
    "--kafka-home",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="An Apache Kafka distribution to run (its libs/); else the jars of `mesh kafka fetch`.",
)
@click.option(
    "--no-monitor",
    is_flag=True,
    help="Do not start the guarantees monitor (mesh monitor run) beside broker and registry.",
)
@click.option(
    "--no-web",
    is_flag=True,
    help="Do not start the web catalog (mesh web) beside the other services.",
)
@click.option("--web-port", type=click.IntRange(1, 65535), default=None, help="[default: 8090]")
@click.option(
    "--no-auth",
    is_flag=True,
    help="Start the registry without authentication (local experiments only): anyone may "
    "register or delete any subject. By default it runs as the admin, whose credential is "
    "written to <state_dir>/credentials/admin.json (mode 0600).",
)
@state_dir_option
@output_option
def up(
    broker_port: int | None,
    registry_port: int | None,
    free_ports: bool,
    broker: Literal["tansu", "kafka"] | None,
    kafka_home: Path | None,
    no_monitor: bool,
    no_web: bool,
    web_port: int | None,
    no_auth: bool,
    state_dir: Path | None,
    output: Literal["text", "json"],
) -> None:
    """Start the broker, the schema registry, the guarantees monitor and the web catalog in
    the background.

    Run again, it changes nothing, except that it starts a dead registry (on its port, the
    broker and every topic kept), a dead monitor or a dead web catalog again.
    """
    if free_ports:
        given = [
            flag
            for flag, port in (
                ("--broker-port", broker_port),
                ("--registry-port", registry_port),
                ("--web-port", web_port),
            )
            if port is not None
        ]
        if given:
            raise click.UsageError(
                f"--free-ports and {' / '.join(given)} exclude each other: --free-ports lets the "
                "system choose every port; drop one of them"
            )
    if kafka_home is not None and broker is None:
        broker = "kafka"
    settings = local_settings(
        broker_port=broker_port,
        registry_port=registry_port,
        state_dir=state_dir,
        broker=broker,
        kafka_home=kafka_home,
        monitor=False if no_monitor else None,
        web=False if no_web else None,
        web_port=web_port,
        auth=False if no_auth else None,
    )
    configured = cli_settings().identity.credential()
    admin = configured if configured is not None and configured.is_admin else None
    info = local.start(settings, free_ports=free_ports, admin=admin)
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "bootstrap_servers": info.bootstrap_servers,
                    "registry_url": info.registry_url,
                    "broker_kind": info.broker_kind,
                    "security_protocol": info.security_protocol,
                    "sasl_mechanism": info.sasl_mechanism,
                    "already_running": info.already_running,
                    "state_dir": str(info.state_dir),
                    "monitor_pid": info.monitor_pid,
                    "monitor_restarted": info.monitor_restarted,
                    "registry_restarted": info.registry_restarted,
                    "web_url": info.web_url,
                    "web_pid": info.web_pid,
                    "auth": info.auth,
                    "admin_credential": (
                        None if info.admin_credential is None else str(info.admin_credential)
                    ),
                }
            )
        )
        return
    console = out_console()
    if info.registry_restarted:
        console.print(
            f"already running (state in {info.state_dir}); its registry was not: started it "
            "again (broker, topics and schemas kept)",
            highlight=False,
        )
    elif info.already_running and info.monitor_restarted:
        console.print(
            f"already running (state in {info.state_dir}); its monitor was not: started it again"
        )
    elif info.already_running:
        console.print(f"already running (state in {info.state_dir}); nothing changed")
    login = "" if info.sasl_mechanism is None else f", SASL {info.sasl_mechanism}"
    console.print(
        f"broker    {info.bootstrap_servers} ({info.broker_kind}{login})", highlight=False
    )
    console.print(f"registry  {info.registry_url}", highlight=False)
    if info.auth:
        where = "" if info.admin_credential is None else f" (admin: {info.admin_credential})"
        console.print(f"auth      on{where}", highlight=False)
    else:
        console.print("auth      off (--no-auth): anyone may change any subject", highlight=False)
    if info.monitor_pid is not None:
        console.print(
            f"monitor   pid {info.monitor_pid}, publishing to _mesh.observations "
            "(see `mesh guarantees`)",
            highlight=False,
        )
    else:
        console.print("monitor   not started (--no-monitor)", highlight=False)
    if info.web_url is not None:
        console.print(f"web       {info.web_url} (the catalog in a browser)", highlight=False)
    else:
        console.print("web       not started (--no-web)", highlight=False)


@click.command()
@state_dir_option
@output_option
def down(state_dir: Path | None, output: Literal["text", "json"]) -> None:
    """Stop the processes `mesh up` started (by recorded PID)."""
    settings = local_settings(state_dir=state_dir)
    try:
        result = local.stop(settings.state_dir)
    except PlatformNotRunningError as exc:
        if output == "json":
            click.echo(json.dumps({"state_dir": str(settings.state_dir), "services": []}))
        err_console().print(str(exc), highlight=False)
        return
    if output == "json":
        services = [
            {"name": service.name, "pid": service.pid, "outcome": service.outcome}
            for service in result.services
        ]
        click.echo(json.dumps({"state_dir": str(result.state_dir), "services": services}))
        return
    console = out_console()
    for service in result.services:
        console.print(f"{service.name:<9} pid {service.pid:<8} {service.outcome}", highlight=False)


def status_exit_code(result: local.PlatformStatus) -> int:
    """0 when the platform runs, 1 when a recorded service died, 3 when none is running."""
    if any(service.state == "dead-but-recorded" for service in result.services):
        return 1
    return 0 if result.running else 3


@click.command()
@state_dir_option
@output_option
@click.pass_context
def status(ctx: click.Context, state_dir: Path | None, output: Literal["text", "json"]) -> None:
    """Show whether the broker, the registry, the guarantees monitor and the web catalog run.

    Exit 0 when they run (the monitor if it was started),
    exit 1 when a recorded service is dead (`mesh up` restarts a dead registry or monitor),
    exit 3 when no platform runs here (`mesh up` starts one). Piped, one plain line per
    service that never wraps.
    """
    settings = local_settings(state_dir=state_dir)
    result = local.status(settings.state_dir)
    code = status_exit_code(result)
    if output == "json":
        click.echo(json.dumps(result.to_dict()))
        ctx.exit(code)
    on = "" if result.broker_kind is None else f" on {result.broker_kind}"
    auth = "" if result.auth is None else f", auth {'on' if result.auth else 'off'}"
    title = f"platform in {result.state_dir}{on}{auth}"
    console = out_console()
    if not console.is_terminal:
        # Piped: plain lines that never wrap, one per service, for grep and awk.
        click.echo(title)
        click.echo(_plain_rows(result))
        ctx.exit(code)
    table = Table(title=title, title_justify="left")
    for column in ("service", "state", "address", "pid"):
        table.add_column(column, no_wrap=True)
    table.add_column("log", overflow="fold")
    for service in result.services:
        colour = _STATE_COLOURS[service.state]
        table.add_row(
            service.name,
            f"[{colour}]{service.state}[/]",
            service.address or "-",
            "-" if service.pid is None else str(service.pid),
            _log_in(service.log, result.state_dir),
        )
    console.print(table)
    ctx.exit(code)


def _plain_rows(result: local.PlatformStatus) -> str:
    """A header and one line per service, in aligned columns; log paths whole."""
    rows = [("service", "state", "address", "pid", "log")]
    rows += [
        (
            service.name,
            service.state,
            service.address or "-",
            "-" if service.pid is None else str(service.pid),
            "-" if service.log is None else str(service.log),
        )
        for service in result.services
    ]
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


def _log_in(log: Path | None, state_dir: Path) -> str:
    """The log file, relative to the state directory the title names when it is inside it."""
    if log is None:
        return "-"
    return str(log.relative_to(state_dir)) if log.is_relative_to(state_dir) else str(log)
