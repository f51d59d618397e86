"""The live driver's pieces that need no broker: security settings for faust, the CLI's errors,
faust events turned into raw records."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from streams.agents.batches import RawRecord
from streams.agents.live import _credentials, _raw
from streams.cli import main
from streams.config import KafkaSettings
from streams.errors import ConfigError


def test_plaintext_needs_no_credentials() -> None:
    assert _credentials(KafkaSettings()) is None


def test_sasl_settings_become_faust_sasl_credentials() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="mesh-svc",
        sasl_password=SecretStr("s3cret"),
    )
    credentials = _credentials(kafka)
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("mesh-svc", "s3cret")
    assert str(credentials.mechanism.value) == "SCRAM-SHA-512"
    assert credentials.ssl_context is None


def test_sasl_ssl_carries_a_tls_context_without_hostname_check_when_disabled() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password=SecretStr("p"),
        ssl_endpoint_identification=False,
    )
    credentials = _credentials(kafka)
    assert credentials.ssl_context is not None
    assert credentials.ssl_context.check_hostname is False


def test_oauthbearer_is_refused_with_the_setting_named() -> None:
    kafka = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER")
    with pytest.raises(ConfigError, match=r"kafka\.sasl_mechanism: OAUTHBEARER"):
        _credentials(kafka)


def test_agent_run_names_the_missing_definition_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["agent", "run", "player.no_such_product", "--root", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "products/player/no_such_product.py: no such file" in result.output


def test_agent_run_refuses_zero_workers() -> None:
    result = CliRunner().invoke(main, ["agent", "run", "player.x", "--workers", "0"])
    assert result.exit_code == 2


def _event(partition: int, offset: int, headers: Any) -> Any:
    message = SimpleNamespace(
        topic="t",
        partition=partition,
        offset=offset,
        timestamp=1767225600.1235,
        key=b"k",
        value=b"v",
        headers=headers,
    )
    return SimpleNamespace(message=message)


def test_raw_keeps_only_owned_partitions_with_millisecond_timestamps() -> None:
    events = [_event(0, 5, [("h", b"1")]), _event(1, 7, None), _event(0, 6, None)]
    records = _raw(events, {("t", 0)})
    assert records == [
        RawRecord("t", 0, 5, 1767225600124, b"k", b"v", [("h", b"1")]),
        RawRecord("t", 0, 6, 1767225600124, b"k", b"v", ()),
    ]
    assert all(type(record) is RawRecord for record in records)


@pytest.mark.parametrize(
    "headers", [(("h", b"1"), ("g", None)), [("h", b"1"), ("g", None)], {"h": b"1", "g": None}]
)
def test_a_raw_record_becomes_a_message_with_its_headers_whatever_faust_gave(headers: Any) -> None:
    message = _raw([_event(2, 9, headers)], {("t", 2)})[0].message()
    assert message.headers() == [("h", b"1"), ("g", None)]
    assert (message.topic(), message.partition(), message.offset()) == ("t", 2, 9)
    assert message.timestamp()[1] == 1767225600124


def test_a_raw_record_without_headers_becomes_a_message_without_headers() -> None:
    assert _raw([_event(0, 1, ())], {("t", 0)})[0].message().headers() is None
