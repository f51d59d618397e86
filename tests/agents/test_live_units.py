"""The live driver's pieces that need no broker: security settings for faust, the CLI's errors,
faust events turned into raw records."""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import faust
import httpx
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from streams.agents.batches import RawRecord
from streams.agents.live import _credentials
from streams.agents.oauth import OidcTokenProvider
from streams.agents.runtime import raw_records
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


OIDC = {
    "sasl.oauthbearer.method": "oidc",
    "sasl.oauthbearer.client.id": "mesh-agents",
    "sasl.oauthbearer.client.secret": "s3cret",
    "sasl.oauthbearer.token.endpoint.url": "https://idp.test/oauth2/token",
    "sasl.oauthbearer.scope": "kafka",
    "sasl.oauthbearer.extensions": "logicalCluster=lkc-1,identityPoolId=pool-2",
}


def test_oauthbearer_with_oidc_becomes_faust_oauth_credentials() -> None:
    """The same librdkafka OIDC properties that the confluent-kafka clients use configure
    faust's client too: a token provider that does the client-credentials grant."""
    kafka = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER", extra=OIDC)
    credentials = _credentials(kafka)
    assert isinstance(credentials, faust.OAuthCredentials)
    assert credentials.ssl_context is not None
    assert str(credentials.protocol.value) == "SASL_SSL"
    provider = credentials.oauth_cb
    assert isinstance(provider, OidcTokenProvider)
    assert provider.endpoint == "https://idp.test/oauth2/token"
    assert provider.extensions() == {"logicalCluster": "lkc-1", "identityPoolId": "pool-2"}


def test_the_token_is_fetched_with_client_credentials_and_reused_until_it_expires() -> None:
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json={"access_token": f"t{len(asked)}", "expires_in": 300})

    now = [1000.0]
    provider = OidcTokenProvider(
        endpoint="https://idp.test/token",
        client_id="mesh-agents",
        client_secret="s3cret",
        scope="kafka",
        transport=httpx.MockTransport(answer),
        clock=lambda: now[0],
    )

    async def tokens() -> list[str]:
        first = await provider.token()
        again = await provider.token()
        now[0] += 250  # within the 60 s margin of the 300 s lifetime
        return [first, again, await provider.token()]

    assert asyncio.run(tokens()) == ["t1", "t1", "t2"]
    form = dict(parse_qsl(asked[0].content.decode()))
    assert form == {"grant_type": "client_credentials", "scope": "kafka"}
    assert (
        asked[0].headers["authorization"]
        == "Basic " + base64.b64encode(b"mesh-agents:s3cret").decode()
    )


def test_a_refused_token_request_names_the_endpoint_and_the_client() -> None:
    provider = OidcTokenProvider(
        endpoint="https://idp.test/token",
        client_id="mesh-agents",
        client_secret="wrong",
        transport=httpx.MockTransport(lambda request: httpx.Response(401, text="invalid_client")),
    )
    with pytest.raises(ConfigError, match=re.escape("idp.test/token refused client 'mesh-agents'")):
        asyncio.run(provider.token())


def test_oauthbearer_without_oidc_is_refused_at_start_naming_the_setting() -> None:
    """librdkafka's unsecured development tokens have no aiokafka equivalent: refused with the
    setting, what the agents need, and that the other commands (replay) work with it."""
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        extra={"sasl.oauthbearer.config": "principal=dev"},
    )
    with pytest.raises(ConfigError) as caught:
        _credentials(kafka)
    text = str(caught.value)
    assert text.startswith("kafka.extra (STREAMS_KAFKA__EXTRA): ")
    assert "sasl.oauthbearer.method=oidc" in text
    assert "sasl.oauthbearer.token.endpoint.url" in text
    assert "mesh replay" in text


def test_oidc_without_its_endpoint_names_what_is_missing() -> None:
    extra = {k: v for k, v in OIDC.items() if k != "sasl.oauthbearer.token.endpoint.url"}
    kafka = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER", extra=extra)
    with pytest.raises(ConfigError, match=r"needs sasl\.oauthbearer\.token\.endpoint\.url"):
        _credentials(kafka)


def test_agent_run_names_the_missing_definition_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["agent", "run", "player.no_such_product", "--root", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "products/player/no_such_product.py: no such file" in result.output


def test_agent_run_finds_the_repository_from_a_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As every command: run inside products/player, the code is looked up at the repository
    root (the nearest folder above holding products/), not under the current folder."""
    (tmp_path / "products" / "player").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "products" / "player")
    result = CliRunner().invoke(main, ["agent", "run", "player.no_such_product"])
    assert result.exit_code == 1
    missing = tmp_path.resolve() / "products/player/no_such_product.py"
    assert f"{missing}: no such file" in result.output.replace("\n", "")


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
    records = raw_records(events, {("t", 0)})
    assert records == [
        RawRecord("t", 0, 5, 1767225600124, b"k", b"v", [("h", b"1")]),
        RawRecord("t", 0, 6, 1767225600124, b"k", b"v", ()),
    ]
    assert all(type(record) is RawRecord for record in records)


@pytest.mark.parametrize(
    "headers", [(("h", b"1"), ("g", None)), [("h", b"1"), ("g", None)], {"h": b"1", "g": None}]
)
def test_a_raw_record_becomes_a_message_with_its_headers_whatever_faust_gave(headers: Any) -> None:
    message = raw_records([_event(2, 9, headers)], {("t", 2)})[0].message()
    assert message.headers() == [("h", b"1"), ("g", None)]
    assert (message.topic(), message.partition(), message.offset()) == ("t", 2, 9)
    assert message.timestamp()[1] == 1767225600124


def test_a_raw_record_without_headers_becomes_a_message_without_headers() -> None:
    assert raw_records([_event(0, 1, ())], {("t", 0)})[0].message().headers() is None
