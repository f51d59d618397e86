"""``mesh up --broker kafka`` with authentication: the admin credential and old data.

The running platform with authentication is tested in ``tests/kafka/test_access.py``.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from streams.errors import ConfigError, PlatformStartError
from streams.identity import generate_credential, write_credential
from streams.local._credentials import admin_credential
from streams.local._kafka import prepare
from tests.helpers.brokers import kafka_settings


def test_the_admin_credential_is_written_once_and_private(tmp_path: Path) -> None:
    first = admin_credential(tmp_path)
    path = tmp_path / "credentials" / "admin.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.is_admin
    assert admin_credential(tmp_path) == first  # read back, not replaced


def test_a_credential_file_of_another_identity_is_refused(tmp_path: Path) -> None:
    write_credential(generate_credential("player"), tmp_path / "credentials" / "admin.json")
    with pytest.raises(ConfigError, match="not the admin's"):
        admin_credential(tmp_path)


def test_data_formatted_without_authentication_is_not_started_with_it(tmp_path: Path) -> None:
    settings = kafka_settings(kafka_sasl=True, state_dir=tmp_path)
    data = tmp_path / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("node.id=1\n")  # formatted earlier, no admin user
    with pytest.raises(PlatformStartError, match="--no-auth"):
        prepare(
            settings,
            state_dir=tmp_path,
            port=1,
            controller_port=2,
            env=os.environ,
            deadline=time.monotonic() + 5,
            admin=admin_credential(tmp_path),
        )
