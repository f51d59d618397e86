"""A product's classification as its owner registered it: the ``classification`` property of
the metadata of the newest schema of the product's newest major version.

``mesh product apply`` registers it from the descriptor (:mod:`streams.catalog._contract`), and
only the owning domain or the admin may register under a product's subjects, so the key service
can trust it to release a ``public`` or ``internal`` product's data keys to any identity.
"""

from __future__ import annotations

import re

from streams.errors import ConfigError
from streams.naming import parse_product
from streams.registry._keys_api import Classify
from streams.registry.service import Registry

__all__ = ["CLASSIFICATIONS", "registered_classification"]

CLASSIFICATIONS = frozenset({"public", "internal", "confidential", "restricted"})
_PROPERTY = "classification"


def registered_classification(registry: Registry) -> Classify:
    """The :data:`Classify` reading ``registry``'s state (None: no schema, or no valid mark)."""

    def classify(product: str) -> str | None:
        try:
            product_id = parse_product(product).id
        except ConfigError:
            return None
        pattern = re.compile(rf"{re.escape(product_id)}\.v(\d+)-value")
        state = registry.state
        majors = [
            (int(match[1]), name)
            for name in state.subject_names()
            if (match := pattern.fullmatch(name)) is not None
        ]
        if not majors:
            return None
        latest = state.latest(max(majors)[1])
        properties = ((latest.metadata or {}) if latest is not None else {}).get("properties")
        found = (properties or {}).get(_PROPERTY)
        return found if found in CLASSIFICATIONS else None

    return classify
