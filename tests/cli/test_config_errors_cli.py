"""Bad settings are one error line naming the setting, never a traceback (README: only --debug)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from streams.cli import EXIT_FAILED, main
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
