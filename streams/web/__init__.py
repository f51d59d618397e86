"""The web catalog (``mesh web``): read-only pages over the catalog, guarantees and lineage.

Server-rendered HTML (Jinja2, autoescaped, inline CSS, no build step and nothing loaded from
elsewhere, so it works offline) with a JSON API behind each page, served by the registry's own
HTTP server (:mod:`streams.registry.http`). Requests render from an in-memory
:class:`Snapshot` that a background task refreshes every few seconds
(:class:`SnapshotKeeper`), so a page never waits for Kafka::

    from streams.web import WebServer, read_snapshot

    server = WebServer(lambda: read_snapshot(settings), port=8090)
    await server.start()          # http://127.0.0.1:8090/
"""

from __future__ import annotations

from streams.web._app import WebApp
from streams.web._filters import Filters
from streams.web._keeper import SnapshotKeeper
from streams.web._server import WEB_READY, WebServer, serve
from streams.web._snapshot import Snapshot, build_snapshot
from streams.web._source import read_snapshot

__all__ = [
    "WEB_READY",
    "Filters",
    "Snapshot",
    "SnapshotKeeper",
    "WebApp",
    "WebServer",
    "build_snapshot",
    "read_snapshot",
    "serve",
]
