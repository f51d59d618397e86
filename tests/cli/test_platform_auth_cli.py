"""``mesh up`` starts the registry with authentication and writes the admin credential;
``mesh up --no-auth`` does not; ``mesh status`` says which."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.config import load_settings
from streams.local import stop
from streams.local._state import state_path


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No identity from the session: `mesh up` makes its own admin."""
    for name in ("STREAMS_IDENTITY__FILE", "STREAMS_IDENTITY__NAME", "STREAMS_IDENTITY__SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    return tmp_path / ".mesh"


def test_up_writes_the_admin_credential_and_the_registry_authenticates(bare: Path) -> None:
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["up", "--free-ports", "--no-monitor"])
        assert result.exit_code == 0, result.output
        admin = bare / "credentials" / "admin.json"
        assert stat.S_IMODE(admin.stat().st_mode) == 0o600
        assert f"auth      on (admin: {admin})" in result.stdout
        status = json.loads(runner.invoke(main, ["status", "--output", "json"]).stdout)
        assert status["auth"] is True
        url = json.loads(state_path(bare).read_text())["registry_url"]
        assert httpx.get(f"{url}/subjects", trust_env=False).status_code == 401
        # The platform team on this machine acts as the admin without configuring anything.
        settings = load_settings()
        assert settings.registry.basic_auth_username == "admin"
        with httpx.Client(trust_env=False) as client:
            secret = settings.registry.basic_auth_password
            assert secret is not None
            auth = ("admin", secret.get_secret_value())
            assert client.get(f"{url}/subjects", auth=auth).json() == []
        table = runner.invoke(main, ["status"])
        assert "auth on" in table.stdout
    finally:
        if state_path(bare).exists():
            stop(bare, timeout_s=5.0)


def test_up_no_auth_starts_an_open_registry(bare: Path) -> None:
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["up", "--free-ports", "--no-monitor", "--no-auth"])
        assert result.exit_code == 0, result.output
        assert "auth      off (--no-auth)" in result.stdout
        assert not (bare / "credentials" / "admin.json").exists()
        status = json.loads(runner.invoke(main, ["status", "--output", "json"]).stdout)
        assert status["auth"] is False
        url = json.loads(state_path(bare).read_text())["registry_url"]
        assert httpx.get(f"{url}/subjects", trust_env=False).json() == []
        trust = httpx.get(f"{url}/mesh/v1/trust", trust_env=False).json()
        assert trust == {"auth": False, "admin_public_key": None}
    finally:
        if state_path(bare).exists():
            stop(bare, timeout_s=5.0)
