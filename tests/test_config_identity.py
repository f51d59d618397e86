"""The identity in the settings: what feeds the clients, ``--as NAME``, the platform's admin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.config import (
    IdentitySettings,
    RegistrySettings,
    Settings,
    credential_path,
    load_settings,
)
from streams.errors import ConfigError
from streams.identity import generate_credential, write_credential


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("IDENTITY__FILE", "IDENTITY__NAME", "IDENTITY__SECRET", "LOCAL__STATE_DIR"):
        monkeypatch.delenv(f"STREAMS_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_identity_feeds_the_registry_client() -> None:
    player = generate_credential("player")
    settings = Settings(
        registry=RegistrySettings(url="http://r:1"),
        identity=IdentitySettings(name="player", secret=player.secret),  # type: ignore[arg-type]
    )
    assert settings.registry.client_conf()["basic.auth.user.info"] == player.basic_auth()


def test_explicit_registry_basic_auth_wins() -> None:
    player = generate_credential("player")
    settings = Settings(
        registry=RegistrySettings(
            url="http://r:1",
            basic_auth_username="key",
            basic_auth_password="s",  # type: ignore[arg-type]
        ),
        identity=IdentitySettings(name="player", secret=player.secret),  # type: ignore[arg-type]
    )
    assert settings.registry.client_conf()["basic.auth.user.info"] == "key:s"


def test_the_identity_is_kafkas_scram_user_on_a_sasl_cluster(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    player = generate_credential("player")
    path = write_credential(player, clean_env / "player.json")
    monkeypatch.setenv("STREAMS_IDENTITY__FILE", str(path))
    monkeypatch.setenv("STREAMS_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "k:1")
    conf = load_settings().kafka.librdkafka()
    assert conf["sasl.username"] == "player"
    assert conf["sasl.password"] == player.secret
    assert conf["sasl.mechanism"] == "SCRAM-SHA-256"
    monkeypatch.setenv("STREAMS_KAFKA__SASL_USERNAME", "svc")
    monkeypatch.setenv("STREAMS_KAFKA__SASL_PASSWORD", "pw")
    monkeypatch.setenv("STREAMS_KAFKA__SASL_MECHANISM", "PLAIN")
    assert load_settings().kafka.librdkafka()["sasl.username"] == "svc"


def test_a_plaintext_cluster_gets_no_sasl_user(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_credential(generate_credential("player"), clean_env / "player.json")
    monkeypatch.setenv("STREAMS_IDENTITY__FILE", str(path))
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "k:1")
    assert "sasl.username" not in load_settings().kafka.librdkafka()


def _platform(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    record = {"bootstrap_servers": "k:1", "registry_url": "http://r:2", "auth": True}
    (state_dir / "platform.json").write_text(json.dumps(record))


def test_the_recorded_platforms_admin_is_the_default(clean_env: Path) -> None:
    (clean_env / ".git").mkdir()
    assert load_settings().registry.basic_auth_username is None
    _platform(clean_env / ".mesh")
    admin = generate_credential("admin")
    write_credential(admin, credential_path(clean_env / ".mesh", "admin"))
    settings = load_settings()
    assert settings.registry.client_conf()["basic.auth.user.info"] == admin.basic_auth()


def test_a_configured_identity_beats_the_platforms_admin(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _platform(clean_env / ".mesh")
    write_credential(generate_credential("admin"), credential_path(clean_env / ".mesh", "admin"))
    player = generate_credential("player")
    monkeypatch.setenv("STREAMS_IDENTITY__NAME", "player")
    monkeypatch.setenv("STREAMS_IDENTITY__SECRET", player.secret)
    assert load_settings().registry.basic_auth_username == "player"


def test_as_names_a_credential_in_the_state_dir(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _platform(clean_env / ".mesh")
    player = generate_credential("player")
    write_credential(player, credential_path(clean_env / ".mesh", "player"))
    monkeypatch.setenv("STREAMS_IDENTITY__NAME", "admin")  # the flag wins over the environment
    monkeypatch.setenv("STREAMS_IDENTITY__SECRET", generate_credential("admin").secret)
    settings = load_settings(as_identity="player")
    assert settings.registry.client_conf()["basic.auth.user.info"] == player.basic_auth()
    with pytest.raises(ConfigError, match=r"--as nobody: no credential file .*nobody\.json"):
        load_settings(as_identity="nobody")


def test_a_credential_readable_by_others_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_credential(generate_credential("player"), clean_env / "player.json")
    path.chmod(0o644)
    monkeypatch.setenv("STREAMS_IDENTITY__FILE", str(path))
    with pytest.raises(ConfigError, match=r"identity: .*readable by others.*chmod 600"):
        load_settings()


def test_a_missing_credential_file_is_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMS_IDENTITY__FILE", str(clean_env / "gone.json"))
    with pytest.raises(ConfigError, match=r"gone\.json' does not exist"):
        load_settings()
