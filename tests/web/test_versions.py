"""Several active versions (a backfilled v2 beside the live v1): the list and the product page
show the latest and make the others visible, each with its state."""

from __future__ import annotations

import re

from streams.web import Filters, build_snapshot
from streams.web._pages import list_page, product_page
from tests.catalog._entries import descriptor, entry
from tests.web._mesh import NOW_MS, observation

V1 = entry(descriptor("dom0", name="sessions", version=1))
V2 = entry(descriptor("dom0", name="sessions", version=2))
OLD = entry(descriptor("dom0", name="sessions", version=3, status="deprecated"))


def test_the_list_shows_the_other_active_versions_with_their_states() -> None:
    shot = build_snapshot(
        entries={V1.key: V1, V2.key: V2},
        observations=[observation(V1.key, "freshness", "met")],
        now_ms=NOW_MS,
    )
    (summary,) = shot.products
    assert summary["version"] == 2
    assert summary["also"] == [
        {
            "key": V1.key,
            "version": 1,
            "status": "active",
            "state": "met",
            "url": f"/products/{V1.key}",
        }
    ]
    page = list_page(shot, Filters()).decode()
    row = re.search(r'<tr data-product="dom0.sessions">(.*?)</tr>', page, re.S)
    assert row is not None
    text = re.sub(r"<[^>]+>|\s+", " ", row.group(1))
    assert "v2 · also v1 (met)" in re.sub(" +", " ", text)
    assert f'href="/products/{V1.key}"' in row.group(1)


def test_the_product_page_links_the_other_active_versions_prominently() -> None:
    shot = build_snapshot(
        entries={V1.key: V1, V2.key: V2},
        observations=[observation(V1.key, "freshness", "met")],
        now_ms=NOW_MS,
    )
    shown = product_page(shot, shot.details["dom0.sessions"]).decode()
    block = re.search(r'<p id="other-versions"[^>]*>(.*?)</p>', shown, re.S)
    assert block is not None
    assert f'<a href="/products/{V1.key}"><code>v1</code></a>' in block.group(1)
    assert "met" in block.group(1)
    assert shown.index('id="other-versions"') < shown.index('id="facts"')  # above the fold
    older = product_page(shot, shot.details[V1.key]).decode()
    assert f'<a href="/products/{V2.key}"><code>v2</code></a>' in older
    assert "unobserved" in older.split('id="other-versions"')[1].split("</p>")[0]


def test_one_active_version_has_no_others_and_deprecated_ones_are_not_active() -> None:
    shot = build_snapshot(entries={V2.key: V2, OLD.key: OLD}, now_ms=NOW_MS)
    (summary,) = shot.products
    assert summary["version"] == 2
    assert summary["also"] == []
    page = product_page(shot, shot.details["dom0.sessions"]).decode()
    assert 'id="other-versions"' not in page
