"""The product list's search and filters, from a query string that anyone may type.

Every parameter is optional; a value no product could ever match (``?state=bogus``) matches
nothing and :func:`unknown_values` names it with the allowed ones (the page and the API answer
400 with that notice, never a 500), a repeated one keeps the last, and the search text is cut
to :data:`MAX_TEXT` characters so a huge query costs no more than a normal one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from streams.catalog import CLASSIFICATIONS, Kind
from streams.web._snapshot import STATE_ORDER

__all__ = ["FILTERS", "MAX_TEXT", "Filters", "allowed_values", "select", "unknown_values"]

FILTERS = ("domain", "kind", "tag", "classification", "state")
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Filters:
    """What the list shows: products matching every filter given.

    Attributes:
        q: Case-insensitive text searched in ids, purposes, owners and tags.
        domain: Only this domain.
        kind: Only this kind.
        tag: Only products with this tag.
        classification: Only this classification.
        state: Only products whose worst guarantee is in this state (``unobserved``: none).
    """

    q: str = ""
    domain: str = ""
    kind: str = ""
    tag: str = ""
    classification: str = ""
    state: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """From a request's query parameters; anything else in ``query`` is ignored."""
        values = {name: query.get(name, "").strip()[:MAX_TEXT] for name in FILTERS}
        return cls(q=query.get("q", "").strip()[:MAX_TEXT], **values)

    @property
    def active(self) -> bool:
        """Whether any filter or search is set."""
        return any((self.q, *(getattr(self, name) for name in FILTERS)))

    def matches(self, product: Mapping[str, Any]) -> bool:
        """Whether a product summary (:func:`~streams.web._snapshot.build_snapshot`) matches."""
        if self.domain and product["domain"] != self.domain:
            return False
        if self.kind and product["kind"] != self.kind:
            return False
        if self.tag and self.tag not in product["tags"]:
            return False
        if self.classification and product["classification"] != self.classification:
            return False
        if self.state and product["state"] != self.state:
            return False
        if self.q:
            needle = self.q.casefold()
            haystack = (
                product["key"],
                product["purpose"] or "",
                product["owner"] or "",
                *product["tags"],
            )
            return any(needle in text.casefold() for text in haystack)
        return True


def select(products: Iterable[Mapping[str, Any]], filters: Filters) -> list[Mapping[str, Any]]:
    """The products ``filters`` matches, in their order."""
    if not filters.active:
        return list(products)
    return [product for product in products if filters.matches(product)]


# Filters over a closed set accept any of its values, even one no product has right now.
_CLOSED: dict[str, tuple[str, ...]] = {
    "kind": get_args(Kind),
    "classification": tuple(CLASSIFICATIONS),
    "state": STATE_ORDER,
}


def allowed_values(facets: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The values each filter accepts: a closed set's every value, else those in ``facets``
    (:meth:`~streams.web._snapshot.Snapshot.facets`: the domains and tags products have)."""
    return {name: list(_CLOSED.get(name, facets.get(name, ()))) for name in FILTERS}


def unknown_values(filters: Filters, facets: Mapping[str, Sequence[str]]) -> list[str]:
    """A notice for each filter set to a value it does not accept, naming the allowed ones."""
    allowed = allowed_values(facets)
    notices = []
    for name in FILTERS:
        value = getattr(filters, name)
        if value and value not in allowed[name]:
            choices = ", ".join(allowed[name]) or "nothing yet"
            notices.append(f"unknown {name} {value!r}: use one of {choices} (or none)")
    return notices
