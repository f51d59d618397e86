"""``mesh domain create|list|revoke`` and ``mesh --as NAME`` against the session platform
(whose registry authenticates; the session's shell acts as its admin)."""

from __future__ import annotations

import json
import re
import stat
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from streams.identity import read_credential
from streams.local import PlatformInfo

SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]})


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "state"


def _name() -> str:
    return f"d{uuid.uuid4().hex[:10]}"


def _registers(platform: PlatformInfo, credential_file: Path, subject: str) -> int:
    credential = read_credential(credential_file)
    conf = {
        "url": platform.registry_url,
        "basic.auth.user.info": credential.basic_auth(),
        "max.retries": 0,
    }
    with SchemaRegistryClient(conf) as client:
        try:
            client.register_schema(subject, Schema(SCHEMA, "AVRO"))
        except SchemaRegistryError as exc:
            return exc.http_status_code
    return 200


def test_create_writes_a_private_credential_that_registers_its_products(
    platform: PlatformInfo, state_dir: Path
) -> None:
    name = _name()
    url = ["--registry-url", platform.registry_url]
    result = CliRunner().invoke(main, ["domain", "create", name, *url])
    assert result.exit_code == EXIT_OK, result.output
    path = state_dir / "credentials" / f"{name}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"mesh --as {name}" in result.stdout
    assert "not enforced by this broker" in result.stdout or platform.broker_kind == "kafka"
    assert _registers(platform, path, f"{name}.things.v1-value") == 200
    assert _registers(platform, path, "other.things.v1-value") == 403
    listed = CliRunner().invoke(main, ["domain", "list", "--output", "json", *url])
    assert name in {entry["name"] for entry in json.loads(listed.stdout)}
    # A pipe or an 80-column terminal: the name and the state stay whole; no microseconds.
    table = CliRunner().invoke(main, ["domain", "list", *url], env={"COLUMNS": "80"})
    row = next(line for line in table.stdout.splitlines() if f" {name} " in line)
    assert "active" in row
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", table.stdout)


def test_recreating_needs_rotate_and_the_old_secret_stops_working(
    platform: PlatformInfo, state_dir: Path, tmp_path: Path
) -> None:
    name = _name()
    url = ["--registry-url", platform.registry_url]
    first = tmp_path / "first.json"
    assert CliRunner().invoke(main, ["domain", "create", name, "--output-file", str(first), *url])
    again = CliRunner().invoke(main, ["domain", "create", name, *url])
    assert again.exit_code == EXIT_FAILED
    assert "--rotate" in again.stderr
    rotated = CliRunner().invoke(main, ["domain", "create", name, "--rotate", *url])
    assert rotated.exit_code == EXIT_OK, rotated.output
    assert _registers(platform, first, f"{name}.x.v1-value") == 401
    assert (
        _registers(platform, state_dir / "credentials" / f"{name}.json", f"{name}.x.v1-value")
        == 200
    )


def test_a_domain_may_not_create_domains_and_a_revoked_one_is_refused(
    platform: PlatformInfo, state_dir: Path
) -> None:
    name = _name()
    url = ["--registry-url", platform.registry_url]
    assert CliRunner().invoke(main, ["domain", "create", name, *url]).exit_code == EXIT_OK
    as_domain = CliRunner().invoke(main, ["--as", name, "domain", "create", _name(), *url])
    assert as_domain.exit_code == EXIT_FAILED
    assert "admin only" in as_domain.stderr
    revoked = CliRunner().invoke(main, ["domain", "revoke", name, "--output", "json", *url])
    assert revoked.exit_code == EXIT_OK, revoked.output
    assert json.loads(revoked.stdout)["revoked_at"]
    path = state_dir / "credentials" / f"{name}.json"
    assert _registers(platform, path, f"{name}.x.v1-value") == 401


def test_as_a_missing_identity_and_bad_names_are_usage_errors(
    platform: PlatformInfo, state_dir: Path
) -> None:
    url = ["--registry-url", platform.registry_url]
    missing = CliRunner().invoke(main, ["--as", "nobody", "domain", "list", *url])
    assert missing.exit_code == EXIT_FAILED
    assert "nobody.json" in missing.stderr
    assert CliRunner().invoke(main, ["domain", "create", "Bad-Name"]).exit_code == EXIT_USAGE
    assert CliRunner().invoke(main, ["domain", "create", "admin"]).exit_code == EXIT_USAGE
