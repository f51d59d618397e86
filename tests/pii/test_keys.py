"""Data keys and the local key provider: 0600 files, wrapping bound to the key id."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.pii import (
    DataKey,
    KeyProvider,
    LocalKeyProvider,
    key_id,
    local_pseudonym_key,
    parse_key_id,
    read_secret_file,
)


def test_the_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    provider = LocalKeyProvider.in_state_dir(tmp_path)
    path = tmp_path / "keys" / "kek.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = LocalKeyProvider.in_state_dir(tmp_path)
    assert again.kek_id == provider.kek_id
    assert provider.kek_id.startswith("local:")
    assert isinstance(provider, KeyProvider)
    assert list((tmp_path / "keys").iterdir()) == [path]  # no temporary file left
    pseudonym = local_pseudonym_key(tmp_path)
    assert len(pseudonym) == 32
    assert local_pseudonym_key(tmp_path) == pseudonym
    assert stat.S_IMODE((tmp_path / "keys" / "pseudonym.json").stat().st_mode) == 0o600


def test_wrap_and_unwrap_bind_the_key_id(tmp_path: Path) -> None:
    provider = LocalKeyProvider.in_state_dir(tmp_path)
    key = DataKey.create("listeners.registrations", "tag")
    wrapped = provider.wrap(key.secret, context=key.id.encode())
    assert key.secret not in wrapped
    assert provider.unwrap(wrapped, kek_id=provider.kek_id, context=key.id.encode()) == key.secret
    with pytest.raises(ValueError, match="does not unwrap"):
        provider.unwrap(wrapped, kek_id=provider.kek_id, context=b"another/key/id")
    with pytest.raises(ValueError, match="does not unwrap"):
        provider.unwrap(wrapped[:-1] + b"x", kek_id=provider.kek_id, context=key.id.encode())
    other = LocalKeyProvider(tmp_path / "other.json")
    with pytest.raises(ValueError, match="this provider holds"):
        other.unwrap(wrapped, kek_id=provider.kek_id, context=key.id.encode())


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    LocalKeyProvider.in_state_dir(tmp_path)
    path = tmp_path / "keys" / "kek.json"
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"readable by others \(mode 644\); run: chmod 600"):
        LocalKeyProvider(path)


@pytest.mark.parametrize("body", ['{"key": "c2hvcnQ="}', "not json", '{"other": 1}'])
def test_a_broken_key_file_names_the_file(tmp_path: Path, body: str) -> None:
    path = tmp_path / "kek.json"
    path.write_text(body)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=str(path)):
        read_secret_file(path)


def test_a_missing_key_file_is_an_error_unless_created(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_secret_file(tmp_path / "none.json")


def test_key_ids_and_wrapping_bound_to_the_id(tmp_path: Path) -> None:
    assert parse_key_id(key_id("a.b", "tag", "01")) == ("a.b", "tag", "01")
    assert parse_key_id("a.b/tag") is None
    assert parse_key_id("a//c") is None
    provider = LocalKeyProvider.in_state_dir(tmp_path)
    key = DataKey.create("a.b", "tag")
    wrapped = provider.wrap(key.secret, context=key.id.encode())
    assert key.secret not in wrapped
    assert provider.unwrap(wrapped, kek_id=provider.kek_id, context=key.id.encode()) == key.secret
    with pytest.raises(ValueError, match="does not unwrap"):
        provider.unwrap(wrapped, kek_id=provider.kek_id, context=b"a.b/other/01")


def test_new_keys_never_repeat_and_a_forked_child_draws_its_own() -> None:
    import os

    secrets_ = {DataKey.create("a.b", "t").secret for _ in range(600)}  # across pool refills
    assert len(secrets_) == 600
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a key and a nonce of its own
        key = DataKey.create("a.b", "t")
        os.write(write, key.secret + key.nonce())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64)
    os.waitpid(pid, 0)
    parent = DataKey.create("a.b", "t")
    assert child[:32] != parent.secret
    assert child[32:36] != parent.nonce()[:4]
