"""The product list's search and filters, from a query string that anyone may type.

Every parameter is optional; an unknown value matches nothing (never an error), a repeated one
keeps the last, and the search text is cut to :data:`MAX_TEXT` characters so a huge query costs
no more than a normal one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FILTERS", "MAX_TEXT", "Filters", "select"]

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
