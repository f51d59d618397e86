"""The HTML pages: Jinja2 templates (autoescaped) over a snapshot's plain data.

Every value a page shows comes from the snapshot's dicts, which are also the JSON API's
answers; the templates only lay them out. Autoescaping is on for every template, so a
product's description, a field doc or a search text can never inject markup.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Sequence
from typing import Any

import jinja2

from streams.web._filters import Filters, select
from streams.web._snapshot import Snapshot

__all__ = ["lineage_page", "list_page", "not_found_page", "product_page"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("streams.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(ms: object) -> str:
    """Epoch milliseconds as ``2026-12-01 13:05 UTC`` (``-`` for none)."""
    if not isinstance(ms, int) or isinstance(ms, bool) or ms <= 0:
        return "-"
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _moment(text: object) -> str:
    """An ISO 8601 time (``2026-12-01T13:05:51.469+00:00``) as ``2026-12-01 13:05 UTC``."""
    try:
        moment = datetime.datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


_ENV.filters["when"] = _when
_ENV.filters["moment"] = _moment


def _render(name: str, snapshot: Snapshot, problems: Sequence[str], **values: Any) -> bytes:
    return (
        _ENV.get_template(name)
        .render(built_at_ms=snapshot.built_at_ms, problems=problems, **values)
        .encode()
    )


def list_page(
    snapshot: Snapshot,
    filters: Filters,
    *,
    notices: Sequence[str] = (),
    problems: Sequence[str] = (),
) -> bytes:
    """``/``: the products ``filters`` matches, with the search form and filter menus, and
    ``notices`` (unknown filter values) above them."""
    return _render(
        "list.html",
        snapshot,
        problems,
        page="list",
        shown=select(snapshot.products, filters),
        total=len(snapshot.products),
        filters=filters,
        facets=snapshot.facets(),
        notices=notices,
    )


def product_page(
    snapshot: Snapshot, detail: dict[str, Any], *, problems: Sequence[str] = ()
) -> bytes:
    """``/products/<domain>.<name>``: one product version."""
    return _render("product.html", snapshot, problems, page="product", p=detail)


def lineage_page(snapshot: Snapshot, *, problems: Sequence[str] = ()) -> bytes:
    """``/lineage``: the graph of products and agents."""
    return _render("lineage.html", snapshot, problems, page="lineage", g=snapshot.lineage)


def not_found_page(
    snapshot: Snapshot, message: str, *, near: str = "", problems: Sequence[str] = ()
) -> bytes:
    """A 404 page saying what was not found, with close product names to ``near``."""
    close = (
        difflib.get_close_matches(near, [p["id"] for p in snapshot.products], n=3) if near else []
    )
    return _render("not_found.html", snapshot, problems, page="error", message=message, close=close)
