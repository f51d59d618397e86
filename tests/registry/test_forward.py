"""A secondary answers reads itself, and refuses writes it cannot relay with the primary's URL."""

from __future__ import annotations

import asyncio

import orjson

from streams.registry._forward import Forwarder
from streams.registry._wire import Request, Response


def _request(method: str, path: str) -> Request:
    return Request(method=method, path=path, query={}, pairs=(), body=b"{}")


def _local(request: Request) -> Response:
    return Response(200, b'"local"')


async def _call(forwarder: Forwarder, request: Request) -> Response:
    result = forwarder(request)
    return result if isinstance(result, Response) else await result


def test_reads_and_lookups_are_answered_locally_on_a_secondary() -> None:
    forwarder = Forwarder(
        _local, primary=lambda: False, primary_url=lambda: None, own_url=lambda: None, wait_s=0
    )
    for method, path in [
        ("GET", "/subjects"),
        ("POST", "/subjects/a-value"),
        ("POST", "/compatibility/subjects/a-value/versions/latest"),
    ]:
        assert asyncio.run(_call(forwarder, _request(method, path))).body == b'"local"'


def test_a_write_the_primary_cannot_take_is_refused_naming_it() -> None:
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    forwarder = Forwarder(
        _local, primary=lambda: False, primary_url=lambda: dead, own_url=lambda: None, wait_s=0.3
    )
    answer = asyncio.run(_call(forwarder, _request("POST", "/subjects/a-value/versions")))
    assert answer.status == 503
    body = orjson.loads(answer.body)
    assert body["error_code"] == 50004
    assert dead in body["message"]


def test_a_write_with_no_primary_elected_is_refused_after_the_wait() -> None:
    forwarder = Forwarder(
        _local, primary=lambda: False, primary_url=lambda: None, own_url=lambda: None, wait_s=0.2
    )
    answer = asyncio.run(_call(forwarder, _request("DELETE", "/subjects/a-value")))
    assert answer.status == 503
    assert "no primary is elected yet" in orjson.loads(answer.body)["message"]


def test_a_write_is_answered_locally_once_this_instance_is_elected() -> None:
    elected = [False]
    forwarder = Forwarder(
        _local,
        primary=lambda: elected[0],
        primary_url=lambda: None,
        own_url=lambda: None,
        wait_s=5,
    )

    async def scenario() -> Response:
        asyncio.get_running_loop().call_later(0.2, elected.__setitem__, 0, True)
        return await _call(forwarder, _request("PUT", "/config"))

    assert asyncio.run(scenario()).body == b'"local"'
