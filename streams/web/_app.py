"""The catalog's routes: each page and the JSON behind it, answered from the current snapshot.

=========================================  ==============================================
``GET /``                                  product list (``?q=&domain=&kind=&tag=&...``)
``GET /products/<domain>.<name>[.vN]``     one product (its latest active version)
``GET /lineage``                           the graph of products and agents (SVG)
``GET /api/products``                      the list as JSON (same filters)
``GET /api/products/<domain>.<name>``      one product as JSON
``GET /api/lineage``                       the graph as JSON
``GET /healthz``                           ``{"ok": true, ...}`` once the first read is done
=========================================  ==============================================

Read-only: any other method is 405. Bad input is a 404 (an unknown product), a 400 naming the
allowed values (an unknown filter value) or an empty list, never a 500: names
are checked against the naming convention before they are looked up, and what the user typed is
only ever shown escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orjson

from streams.registry.http import Request, Response
from streams.web._filters import Filters, allowed_values, select, unknown_values
from streams.web._pages import lineage_page, list_page, not_found_page, product_page
from streams.web._snapshot import Snapshot

__all__ = ["HTML", "JSON", "WebApp"]

HTML = b"text/html; charset=utf-8"
JSON = b"application/json"
# Pages carry their CSS and the odd inline handler; nothing may load from anywhere else.
_HEADERS = (
    b"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
    b"script-src-attr 'unsafe-inline'; img-src data:; form-action 'self'; "
    b"frame-ancestors 'none'\r\n"
    b"X-Content-Type-Options: nosniff\r\n"
    b"Cache-Control: no-cache\r\n"
)
_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(\.v[1-9][0-9]{0,5})?")
_SHOWN = 120  # characters of a bad name quoted back
_CACHED_PAGES = 512  # distinct targets kept per snapshot; beyond, pages render every time


class WebApp:
    """The request handler of the web catalog (a :data:`streams.registry.http.Handler`).

    Args:
        snapshot: Returns the snapshot to answer from (the keeper's current one).
        problems: Returns what the pages should warn about beyond the snapshot's own problems
            (e.g. that the last refresh failed).
    """

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        problems: Callable[[], list[str]] = list,
    ) -> None:
        self._snapshot = snapshot
        self._problems = problems
        # Answers of the current snapshot by target: a page is rendered once per refresh
        # however many read it (scripts/bench web: the list of 500 products takes ~50 ms to
        # render, a cached answer well under 1 ms).
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], Response] = {}
        self._cached_for: Snapshot | None = None
        self._cached_problems: tuple[str, ...] = ()

    def __call__(self, request: Request) -> Response:
        if request.method != "GET":  # HEAD arrives as GET and is answered without a body
            return Response(
                405,
                _json({"error": f"the catalog is read-only: {request.method} is not allowed"}),
                headers=b"Allow: GET, HEAD\r\n",
                content_type=JSON,
            )
        snapshot, problems = self._snapshot(), tuple(self._problems())
        if snapshot is not self._cached_for or problems != self._cached_problems:
            self._cache.clear()  # a new snapshot (or warning): every page may have changed
            self._cached_for, self._cached_problems = snapshot, problems
        target = (request.path, request.pairs)
        answer = self._cache.get(target)
        if answer is None:
            answer = self._answer(request, snapshot)
            if len(self._cache) < _CACHED_PAGES:
                self._cache[target] = answer
        return answer

    def _answer(self, request: Request, snapshot: Snapshot) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/":
            filters = Filters.from_query(request.query)
            notices = unknown_values(filters, snapshot.facets())
            page = list_page(snapshot, filters, notices=notices, problems=self._all(snapshot))
            return self._html(400 if notices else 200, page)
        if path == "/lineage":
            return self._html(200, lineage_page(snapshot, problems=self._all(snapshot)))
        if path.startswith("/products/"):
            return self._product(snapshot, path.removeprefix("/products/"))
        if path == "/api/products":
            filters = Filters.from_query(request.query)
            facets = snapshot.facets()
            notices = unknown_values(filters, facets)
            if notices:
                return _api(400, {"error": "; ".join(notices), "allowed": allowed_values(facets)})
            shown = select(snapshot.products, filters)
            return _api(200, {**self._meta(snapshot), "products": shown})
        if path.startswith("/api/products/"):
            name = unquote(path.removeprefix("/api/products/"))
            detail = snapshot.details.get(name) if _NAME.fullmatch(name) else None
            if detail is None:
                return _api(404, {"error": _unknown(name)})
            return _api(200, detail)
        if path == "/api/lineage":
            return _api(200, {**self._meta(snapshot), **snapshot.lineage})
        if path == "/healthz":
            return _api(
                200, {"ok": True, **self._meta(snapshot), "products": len(snapshot.products)}
            )
        message = f"There is no page {unquote(request.path)[:_SHOWN]!r} in the catalog."
        return self._html(404, not_found_page(snapshot, message, problems=self._all(snapshot)))

    def _product(self, snapshot: Snapshot, raw: str) -> Response:
        name = unquote(raw)
        detail = snapshot.details.get(name) if _NAME.fullmatch(name) else None
        problems = self._all(snapshot)
        if detail is None:
            page = not_found_page(snapshot, _unknown(name), near=name[:_SHOWN], problems=problems)
            return self._html(404, page)
        return self._html(200, product_page(snapshot, detail, problems=problems))

    def _all(self, snapshot: Snapshot) -> list[str]:
        return [*self._problems(), *snapshot.problems]

    def _meta(self, snapshot: Snapshot) -> dict[str, Any]:
        return {"built_at_ms": snapshot.built_at_ms, "problems": self._all(snapshot)}

    @staticmethod
    def _html(status: int, body: bytes) -> Response:
        return Response(status, body, headers=_HEADERS, content_type=HTML)


def _unknown(name: str) -> str:
    shown = name[:_SHOWN] + ("…" if len(name) > _SHOWN else "")
    if not _NAME.fullmatch(name):
        return (
            f"{shown!r} is not a product name: products are named <domain>.<name> "
            "(e.g. player.play_events), optionally with a version (player.play_events.v2)"
        )
    return (
        f"no product {shown!r} in the catalog; it may not be published yet "
        "(mesh product apply), or it was published under another name"
    )


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _api(status: int, value: Any) -> Response:
    return Response(status, _json(value), headers=b"Cache-Control: no-cache\r\n", content_type=JSON)
