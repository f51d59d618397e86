"""Freshness without waiting: the keeper's refreshes, the views reused between snapshots, and
pages rendered once per snapshot (and again when it or a warning changes)."""

from __future__ import annotations

import asyncio

from streams.errors import BrokerUnavailableError
from streams.registry.http import Request
from streams.web import Snapshot, SnapshotKeeper, WebApp, build_snapshot
from tests.web._mesh import NOW_MS, mesh


def get(app: WebApp, path: str = "/") -> bytes:
    return app(Request(method="GET", path=path, query={}, pairs=(), body=b"")).body


def test_a_failed_refresh_keeps_the_last_snapshot_and_says_so() -> None:
    first = build_snapshot(**mesh(3, domains=1), now_ms=NOW_MS)
    answers: list[Snapshot | Exception] = [
        first,
        BrokerUnavailableError("down", bootstrap_servers="b:9"),
        Snapshot(),
    ]

    def read() -> Snapshot:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def scenario() -> None:
        keeper = SnapshotKeeper(read, every_s=60)
        assert keeper.snapshot.problems  # nothing read yet: the pages say so
        await keeper.refresh()
        assert (keeper.snapshot, keeper.failure) == (first, None)
        await keeper.refresh()
        assert keeper.snapshot is first
        assert keeper.failure is not None
        assert "could not be read (down)" in keeper.failure
        await keeper.refresh()
        assert (keeper.snapshot.products, keeper.failure) == ((), None)

    asyncio.run(scenario())


def test_unchanged_entries_reuse_their_views_and_removed_ones_are_forgotten() -> None:
    inputs = mesh(3, domains=1)
    memo: dict = {}  # type: ignore[type-arg]
    first = build_snapshot(**inputs, now_ms=NOW_MS, memo=memo)
    assert len(memo) == len(inputs["entries"])
    second = build_snapshot(**inputs, now_ms=NOW_MS + 1, memo=memo)
    key = "dom0.events_1.v1"
    assert second.details[key]["schema"] is first.details[key]["schema"]
    del inputs["entries"][key]
    build_snapshot(**inputs, now_ms=NOW_MS + 2, memo=memo)
    assert key not in {k for k, _, _ in memo}


def test_pages_render_once_per_snapshot_and_again_when_it_or_a_warning_changes() -> None:
    snapshots = [build_snapshot(**mesh(3, domains=1), now_ms=NOW_MS)]
    problems: list[str] = []
    app = WebApp(lambda: snapshots[-1], lambda: problems)
    page = get(app)
    assert get(app) is page  # the same bytes: not rendered again
    problems.append("the catalog could not be read")
    warned = get(app)
    assert b"the catalog could not be read" in warned
    snapshots.append(build_snapshot(**mesh(4, domains=1), now_ms=NOW_MS))
    assert get(app).count(b'<tr data-product="') == 5
