"""Benchmark: the web catalog's pages on a mesh of hundreds of products, in process.

Builds a snapshot of a made-up mesh (``--products``, default 500, over 25 domains, each with
observations and 24 hours of history), then times, best of 5 rounds, rendering the list page
(all products, then a search) against the baseline of orjson-dumping the same products (what the
JSON API costs), a product page against dumping its detail, and the lineage page; also how long
a snapshot takes to build and to refresh (unchanged entries reuse their parsed views). Last,
the list page over HTTP (the registry's server, sequential keep-alive requests; a page is
rendered once per snapshot, so this is the cached answer's cost). Ratios > 1 mean
"slower than dumping the data as JSON"; the last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
from streams.web import Filters, WebServer, build_snapshot  # noqa: E402
from streams.web._pages import lineage_page, list_page, product_page  # noqa: E402
from tests.web._mesh import NOW_MS, mesh  # noqa: E402


def best(run: Callable[[], object], rounds: int = 5, repeat: int = 20) -> float:
    """Best seconds per call over ``rounds`` rounds of ``repeat`` calls."""
    found = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            run()
        found = min(found, (time.perf_counter() - start) / repeat)
    return found


def http_ms(snapshot: object, requests: int) -> tuple[float, float]:
    server = WebServer(lambda: snapshot, port=0, refresh_s=3600)  # type: ignore[arg-type, return-value]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    times = []
    try:
        with httpx.Client(base_url=server.url, trust_env=False) as client:
            client.get("/")
            for _ in range(requests):
                start = time.perf_counter()
                client.get("/").raise_for_status()
                times.append((time.perf_counter() - start) * 1000)
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    inputs = mesh(args.products, domains=max(args.products // 20, 1))
    memo: dict = {}  # type: ignore[type-arg]
    started = time.perf_counter()
    snapshot = build_snapshot(**inputs, now_ms=NOW_MS, memo=memo)
    build_s = time.perf_counter() - started
    started = time.perf_counter()  # a refresh: every entry unchanged, views from the memo
    snapshot = build_snapshot(**inputs, now_ms=NOW_MS, memo=memo)
    refresh_s = time.perf_counter() - started
    everything, search = Filters(), Filters(q="events_1", state="breached")
    detail = snapshot.details[snapshot.products[1]["id"]]
    dump_list = best(lambda: orjson.dumps(snapshot.products))
    render_list = best(lambda: list_page(snapshot, everything))
    render_search = best(lambda: list_page(snapshot, search))
    dump_product = best(lambda: orjson.dumps(detail), repeat=200)
    render_product = best(lambda: product_page(snapshot, detail), repeat=200)
    render_lineage = best(lambda: lineage_page(snapshot))
    p50, worst = http_ms(snapshot, args.requests)
    result = {
        "bench": "web",
        "products": len(snapshot.products),
        "snapshot_build_ms": round(build_s * 1000, 1),
        "snapshot_refresh_ms": round(refresh_s * 1000, 1),
        "list_render_ms": round(render_list * 1000, 2),
        "list_json_ms": round(dump_list * 1000, 3),
        "list_ratio_vs_json": round(render_list / dump_list, 1),
        "search_render_ms": round(render_search * 1000, 2),
        "product_render_ms": round(render_product * 1000, 3),
        "product_ratio_vs_json": round(render_product / dump_product, 1),
        "lineage_render_ms": round(render_lineage * 1000, 2),
        "lineage_nodes": len(snapshot.lineage["nodes"]),
        "http_list_p50_ms": round(p50, 2),
        "http_list_max_ms": round(worst, 2),
    }
    print(
        f"{result['products']} products (snapshot built in {result['snapshot_build_ms']} ms, "
        f"refreshed in {result['snapshot_refresh_ms']} ms): "
        f"list page {result['list_render_ms']} ms vs JSON {result['list_json_ms']} ms "
        f"({result['list_ratio_vs_json']}x), search {result['search_render_ms']} ms, "
        f"product page {result['product_render_ms']} ms ({result['product_ratio_vs_json']}x "
        f"its JSON), lineage {result['lineage_render_ms']} ms ({result['lineage_nodes']} nodes), "
        f"GET / over HTTP p50 {result['http_list_p50_ms']} ms, max {result['http_list_max_ms']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
