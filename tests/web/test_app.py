"""The catalog's routes over HTTP: pages, the JSON API, 404s naming the product, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from streams.registry.http import Request
from streams.web import Snapshot, WebApp
from tests.web.conftest import Served


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, trust_env=False, timeout=10) as http:
        yield http


def test_list_page_is_html_with_every_product(client: httpx.Client) -> None:
    answer = client.get("/", headers={"Accept": "text/html"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.text.count('<tr data-product="') == 12
    assert 'href="/products/dom2.events_2"' in answer.text


def test_list_filters_and_search_over_http(client: httpx.Client) -> None:
    page = client.get("/", params={"domain": "dom1", "q": "events"}).text
    assert page.count('<tr data-product="') == 3
    assert '<option value="dom1" selected>' in page
    api = client.get("/api/products", params={"state": "breached"}).json()
    assert [p["id"] for p in api["products"]] == ["dom2.events_2", "dom2.events_5"]


def test_product_page_and_its_json(client: httpx.Client) -> None:
    page = client.get("/products/dom0.events_0.v1").text
    parts = ("player-platform", "Royalties and charts.", "PII", "freshness", "weekly charts")
    for part in (*parts, "2025-01-02 03:04 UTC", "2025-12-01 10:00 UTC"):
        assert part in page
    assert page.count('<rect class="bar') == 23
    assert "<strong>deprecated</strong>: Adds bitrate. Use dom0.events_0.v2 instead." in page
    detail = client.get("/api/products/dom0.events_0").json()
    assert detail["key"] == "dom0.events_0.v2"
    assert [v["version"] for v in detail["versions"]] == [1, 2]


def test_lineage_page_and_json(client: httpx.Client) -> None:
    page = client.get("/lineage").text
    graph = client.get("/api/lineage").json()
    assert page.count('<a class="node') == len(graph["nodes"]) > 0
    assert 'href="/products/dom1.hourly.v1#runs"' in page


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/products/dom0.nope", "no product 'dom0.nope'"),
        ("/products/dom0.events_0.v9", "no product 'dom0.events_0.v9'"),
        ("/products/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "is not a product name"),
        ("/products/" + "a" * 5000, "is not a product name"),
        ("/elsewhere", "no page"),
    ],
)
def test_unknown_things_are_404_pages_naming_them_escaped(
    client: httpx.Client, path: str, named: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert named in answer.text.replace("&#39;", "'")
    assert "<script>" not in answer.text


def test_a_close_name_is_suggested(client: httpx.Client) -> None:
    assert 'href="/products/dom0.events_3"' in client.get("/products/dom0.event_3").text


def test_api_unknown_product_is_a_json_404(client: httpx.Client) -> None:
    answer = client.get("/api/products/x.y")
    assert answer.status_code == 404
    assert answer.json() == {"error": answer.json()["error"]}
    assert "'x.y'" in answer.json()["error"]


def test_read_only_and_odd_requests(client: httpx.Client) -> None:
    answer = client.post("/", content=b"{}", headers={"Content-Type": "text/plain"})
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET, HEAD")
    assert client.head("/lineage").status_code == 200
    assert client.get("/?q=%FF%FE").status_code == 200
    assert client.get("/?q=%FF%FE&domain=%00").status_code == 400  # an unknown domain
    assert client.get("/", headers={"Accept": "image/png"}).status_code == 200


def test_an_unknown_filter_value_is_a_400_naming_it_and_the_allowed_ones(
    client: httpx.Client,
) -> None:
    page = client.get("/", params={"state": "bogus"})
    assert page.status_code == 400
    assert '<div class="problems" id="notice" role="alert">' in page.text
    named = "unknown state &#39;bogus&#39;: use one of breached, at_risk, met, unobserved"
    assert named in page.text
    assert '<form class="filters"' in page.text  # the form is there to fix it
    api = client.get("/api/products", params={"state": "bogus", "kind": "aggregate"})
    assert api.status_code == 400
    body = api.json()
    assert body["error"].startswith("unknown state 'bogus': use one of breached")
    assert body["allowed"]["state"] == ["breached", "at_risk", "met", "unobserved"]
    assert client.get("/api/products", params={"state": "met"}).status_code == 200
    evil = client.get("/", params={"tag": "<script>x</script>"})
    assert evil.status_code == 400
    assert "<script>x" not in evil.text


def test_the_search_box_is_wide_enough_for_its_placeholder(client: httpx.Client) -> None:
    import re

    page = client.get("/").text
    found = re.search(r'<input type="search"[^>]*>', page)
    assert found is not None
    placeholder = re.search(r'placeholder="([^"]*)"', found.group(0))
    size = re.search(r'size="([0-9]+)"', found.group(0))
    assert placeholder is not None
    assert size is not None
    assert int(size.group(1)) >= len(placeholder.group(1)) + 2


def test_hostile_text_is_escaped_in_pages() -> None:
    evil = "<img src=x onerror=alert(1)>"
    app = WebApp(lambda: Snapshot(problems=(evil,)))
    request = Request(method="GET", path="/", query={"q": evil}, pairs=(), body=b"")
    body = app(request).body.decode()
    assert evil not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_healthz_says_how_many_products(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["products"] == 12


def test_every_command_a_page_suggests_is_a_real_mesh_command(client: httpx.Client) -> None:
    import re

    import click

    from streams.cli import main

    pages = [client.get(path).text for path in ("/", "/products/dom0.events_0", "/lineage")]
    suggested = {m for page in pages for m in re.findall(r"<code>mesh ([a-z]+)", page)}
    assert "tail" in suggested
    known = set(main.list_commands(click.Context(main)))
    assert suggested <= known, suggested - known
