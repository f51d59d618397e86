"""``mesh up`` next to settings for a company cluster: the local registry stays PLAINTEXT.

Since ``mesh registry serve`` reads the whole ``kafka`` settings (SASL, TLS), a user who exported
their cluster's ``STREAMS_KAFKA__...`` for other commands must still get a working local
platform: its broker is PLAINTEXT, so those settings must not reach its registry.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from streams.config import LocalSettings
from streams.local import start, stop
from tests.helpers.kafka import admin_auth

CLUSTER_ENV = {
    "STREAMS_KAFKA__BOOTSTRAP_SERVERS": "kafka-1.corp:9093",
    "STREAMS_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
    "STREAMS_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
    "STREAMS_KAFKA__SASL_USERNAME": "mesh-svc",
    "STREAMS_KAFKA__SASL_PASSWORD": "secret",
}


def test_exported_cluster_settings_do_not_reach_the_local_registry(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    info = start(
        LocalSettings(web=False, state_dir=state_dir, start_timeout_s=60),
        free_ports=True,
        env={**os.environ, **CLUSTER_ENV},
    )
    try:
        answer = httpx.get(f"{info.registry_url}/subjects", auth=admin_auth(info), trust_env=False)
        assert answer.json() == []
    finally:
        stop(state_dir)
