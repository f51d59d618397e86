"""Bad settings are one error line naming the setting, never a traceback (README: only --debug)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner, Result

from streams.cli import EXIT_FAILED, EXIT_UNREACHABLE, main
from streams.local import PlatformInfo
from tests.catalog._repo import REPO

CLOSED = "127.0.0.1:1"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "no-platform"))


def one_error_line(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == EXIT_FAILED, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


COMMANDS = {
    "doctor": ["doctor", "--timeout", "1", "--bootstrap-servers", CLOSED],
    "tail": ["tail", "player.play_events", "--max", "1", "--bootstrap-servers", CLOSED],
    "plan": ["product", "plan", str(REPO), "--bootstrap-servers", CLOSED],
    "up": ["up", "--free-ports"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_extra_that_is_not_json(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__EXTRA", "{client.id: mesh}")
    line = one_error_line(runner.invoke(main, COMMANDS[command]))
    assert "kafka.extra (STREAMS_KAFKA__EXTRA)" in line
    assert "not valid JSON" in line


@pytest.mark.parametrize("command", ["doctor", "tail", "plan"])
def test_an_extra_property_librdkafka_does_not_know(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__EXTRA", '{"no.such.prop": 1}')
    line = one_error_line(runner.invoke(main, COMMANDS[command]))
    assert "kafka.extra (STREAMS_KAFKA__EXTRA)" in line
    assert "no.such.prop" in line
    assert "mesh up" not in line


def test_a_ca_file_without_a_certificate(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "ca.pem").write_text("hello\n")
    monkeypatch.setenv("STREAMS_KAFKA__SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("STREAMS_KAFKA__SSL_CA_LOCATION", str(tmp_path / "ca.pem"))
    line = one_error_line(runner.invoke(main, COMMANDS["doctor"]))
    assert "kafka.ssl_ca_location (STREAMS_KAFKA__SSL_CA_LOCATION)" in line
    assert "no PEM certificate" in line


def test_a_misspelt_setting(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVER", "b:9092")
    line = one_error_line(runner.invoke(main, ["doctor", "--timeout", "1"]))
    assert "did you mean kafka.bootstrap_servers (STREAMS_KAFKA__BOOTSTRAP_SERVERS)?" in line


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP file server (``python -m http.server``): it answers, but is no registry."""

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_doctor_on_a_web_server_that_is_no_registry(runner: CliRunner, web_server: str) -> None:
    result = runner.invoke(
        main,
        ["doctor", "--timeout", "1", "--bootstrap-servers", CLOSED, "--registry-url", web_server],
    )
    registry = next(line for line in result.stdout.splitlines() if " registry " in line)
    assert (
        f"{web_server} answered but is not a Confluent schema registry (HTTP 404 on GET /subjects)"
        in registry
    ), registry
    assert "<" not in registry, registry


# Commands that talk to Kafka and the registry; each must fail the same way when they are not
# there (the other helpers' commands change their own options, not these).
CONNECTED = {
    "tail": ["tail", "player.play_events", "--max", "1"],
    "plan": ["product", "plan", str(REPO)],
    "list": ["product", "list"],
    "guarantees": ["guarantees"],
    "lineage": ["lineage", "player.play_events"],
}


def one_line_exit_3(result: Result) -> str:
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("command", sorted(CONNECTED))
def test_nothing_configured_says_where_it_looked(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    # Not the default ports (someone else's platform on a shared machine): one line.
    monkeypatch.delenv("STREAMS_LOCAL__STATE_DIR")
    line = one_line_exit_3(runner.invoke(main, CONNECTED[command]))
    assert f".mesh/platform.json in {tmp_path} or its parents" in line
    assert "run `mesh up`" in line
    assert "STREAMS_KAFKA__BOOTSTRAP_SERVERS" in line


@pytest.mark.parametrize("command", sorted(CONNECTED))
def test_kafka_down_is_one_line_exit_3(runner: CliRunner, command: str) -> None:
    where = ["--bootstrap-servers", CLOSED]
    line = one_line_exit_3(runner.invoke(main, [*CONNECTED[command], *where]))
    assert f"Kafka at {CLOSED} cannot be reached" in line
    assert "mesh up" in line


@pytest.mark.parametrize("command", ["tail", "plan", "guarantees"])
def test_librdkafka_logs_do_not_reach_the_terminal(tmp_path: Path, command: str) -> None:
    # librdkafka writes its own log lines to file descriptor 2, past click's runner: run `mesh`.
    env = {**os.environ, "STREAMS_LOCAL__STATE_DIR": str(tmp_path / "no-platform")}
    env["STREAMS_KAFKA__BOOTSTRAP_SERVERS"] = CLOSED  # and no registry: Kafka fails first
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", *CONNECTED[command]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == EXIT_UNREACHABLE, done.stderr
    assert done.stderr.startswith(f"error: Kafka at {CLOSED} cannot be reached"), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # nothing from librdkafka (%3|...FAIL|)


def test_a_registry_that_is_down_is_one_line_exit_3(
    runner: CliRunner, platform: PlatformInfo, closed_url: str
) -> None:
    where = ["--bootstrap-servers", platform.bootstrap_servers, "--registry-url", closed_url]
    for command in ("tail", "plan"):
        line = one_line_exit_3(runner.invoke(main, [*CONNECTED[command], *where]))
        assert f"the schema registry at {closed_url} cannot be reached" in line


def test_a_registry_error_a_command_did_not_expect_is_still_one_line_exit_3(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever command calls the registry through confluent-kafka's client (httpx2 inside):
    # a transport error becomes one line naming the registry, not a traceback and exit 1.
    url = f"http://{CLOSED}"
    refused = httpx2.ConnectError("[Errno 111] Connection refused")
    refused.request = httpx2.Request("GET", f"{url}/subjects")

    def registry_call(*args: object, **kwargs: object) -> None:
        raise refused

    monkeypatch.setattr("streams.cli.platform.local.status", registry_call)
    line = one_line_exit_3(runner.invoke(main, ["status"]))
    assert line.startswith(f"error: the schema registry at {url} cannot be reached"), line
    assert "Connection refused" in line


def test_warnings_are_one_readable_line_and_info_is_off(tmp_path: Path) -> None:
    # As `mesh` configures its process; a real process, since pytest records warnings itself.
    code = (
        "import warnings\n"
        "from streams.cli._output import configure_logging\n"
        "configure_logging(debug=False)\n"
        "warnings.warn('player.play_events.v1 is deprecated:\\n read v2', DeprecationWarning)\n"
        "import logging\n"
        "logging.getLogger('streams.local').info('not shown without -v')\n"
        "logging.getLogger('streams.local').warning('starting %s', 'Apache Kafka')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stderr == (
        "warning: player.play_events.v1 is deprecated: read v2\nwarning: starting Apache Kafka\n"
    )
