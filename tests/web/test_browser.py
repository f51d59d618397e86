"""The catalog in a real browser: Debian's headless Chromium driven by Playwright.

Pages render, search and filters work (the filter menus submit themselves through an inline
handler the Content-Security-Policy must allow), lineage nodes link to their products, no page
logs a console error, and each page is saved as a screenshot under ``tests/output/web/``.
Without Chromium (or Playwright) the tests skip with the reason, unless
``STREAMS_TEST_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Served

REQUIRE_BROWSER = "STREAMS_TEST_REQUIRE_BROWSER"
OUTPUT = Path(__file__).parents[1] / "output" / "web"
# Never a download, never the network: the system's Chromium, quiet and without a sandbox
# (CI runs as root).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    """The system Chromium's path, or skip (fail under ``STREAMS_TEST_REQUIRE_BROWSER``)."""
    found = os.environ.get("STREAMS_TEST_CHROMIUM") or shutil.which("chromium") or ""
    problem = None if found and Path(found).exists() else f"no chromium at {found or 'PATH'!r}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem is not None:
        reason = f"browser tests skipped: {problem} (apt-get install -y chromium)"
        if os.environ.get(REQUIRE_BROWSER, "") not in ("", "0"):
            pytest.fail(f"browser tests required ({REQUIRE_BROWSER} is set): {problem}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        yield launched
        launched.close()


class Tab:
    """One page with every console error and uncaught exception it logged."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def open(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Any, served: Served) -> Iterator[Tab]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    opened = Tab(page, served.url)
    yield opened
    page.close()


def rows(tab: Tab) -> int:
    count: int = tab.page.locator("#products tbody tr").count()
    return count


def test_list_page_search_and_filters(tab: Tab) -> None:
    assert tab.open("/").status == 200
    tab.shot("list")
    assert rows(tab) == 12
    tab.page.fill("input[name=q]", "events_4")
    tab.page.press("input[name=q]", "Enter")
    tab.page.wait_for_url("**/?q=events_4*")
    assert rows(tab) == 1
    tab.open("/")
    with tab.page.expect_navigation():
        tab.page.select_option("select[name=state]", "breached")  # submits by itself
    assert "state=breached" in tab.page.url
    assert rows(tab) == 2
    assert tab.page.locator("#products .state.breached").count() == 2
    tab.shot("list-breached")
    assert tab.errors == []


def test_the_search_placeholder_is_not_cut_and_a_bogus_filter_is_named(tab: Tab) -> None:
    tab.open("/")
    room, needed = tab.page.eval_on_selector(
        "input[name=q]",
        """el => {
            const style = getComputedStyle(el);
            const pen = document.createElement("canvas").getContext("2d");
            pen.font = style.font;
            const inner = el.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            return [inner, pen.measureText(el.placeholder).width];
        }""",
    )
    assert room >= needed, (room, needed)
    answer = tab.open("/?state=bogus")
    assert answer.status == 400
    notice = tab.page.locator("#notice").inner_text()
    assert "unknown state 'bogus'" in notice
    assert "breached, at_risk, met" in notice
    tab.shot("list-unknown-filter")
    assert [e for e in tab.errors if "400" not in e] == []


def test_product_page_from_the_list(tab: Tab) -> None:
    tab.open("/?domain=dom0")
    tab.page.click("a[href='/products/dom0.events_3']")
    tab.page.wait_for_url("**/products/dom0.events_3")
    assert tab.page.locator("h1 code").inner_text() == "dom0.events_3"
    assert tab.page.locator("#schema .pii").count() == 1
    assert tab.page.locator("svg.history rect.bar").count() == 23
    assert tab.page.locator("svg.history").first.is_visible()
    assert "weekly charts" not in tab.page.content()  # the grant is dom0.events_0's
    tab.shot("product")
    assert tab.errors == []


def test_lineage_nodes_link_to_their_products(tab: Tab) -> None:
    tab.open("/lineage")
    tab.shot("lineage")
    nodes = tab.page.locator("svg#lineage a.node")
    assert nodes.count() == 9 + 1 + 3 + 3  # products, a v2, aggregates, agents
    tab.page.locator("a.node[data-node='agent:dom1.hourly.v1']").click()
    tab.page.wait_for_url("**/products/dom1.hourly.v1#runs")
    assert tab.page.locator("h1 code").inner_text() == "dom1.hourly"
    tab.page.go_back()
    tab.page.locator("a.node[data-node='dom2.events_2.v1']").click()
    tab.page.wait_for_url("**/products/dom2.events_2.v1")
    assert tab.page.locator("#state").inner_text() == "breached"
    assert tab.errors == []


def test_unknown_product_page(tab: Tab) -> None:
    answer = tab.open("/products/dom0.event_3")
    assert answer.status == 404
    assert "no product 'dom0.event_3'" in tab.page.locator("#message").inner_text()
    assert tab.page.locator("a[href='/products/dom0.events_3']").count() == 1
    tab.shot("not-found")
    # The only console line Chromium writes is the 404 itself.
    assert all("404" in error for error in tab.errors)


def test_without_chromium_the_tests_skip_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_TEST_CHROMIUM", "/nowhere/chromium")
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium at '/nowhere/chromium'"):
        _chromium()
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="browser tests required"):
        _chromium()
