"""Which major version a product name means: the one rule every command follows.

``domain.product.vN`` (or ``--version N``) is that version. A bare ``domain.product`` is the
**latest active** major version: a newer version that is still being rolled out is announced
``active`` only once it is served, and an older one kept for its consumers is ``deprecated``.
When no version is active, the latest deprecated one is meant (still served), and when every
version is retired, the latest one, so the command can say it is retired instead of "unknown".
"""

from __future__ import annotations

from collections.abc import Mapping

from streams.catalog._model import Status
from streams.errors import ConfigError
from streams.naming import ProductRef, parse_product

__all__ = ["choose_version", "is_versioned"]

_PREFERENCE: tuple[Status, ...] = ("active", "deprecated", "retired")


def is_versioned(name: str) -> bool:
    """Whether ``name`` (already a valid product name) names its major version (``….vN``)."""
    return name.count(".") == 2


def choose_version(
    name: str,
    versions: Mapping[int, Status],
    *,
    version: int | None = None,
    where: str = "the catalog",
) -> ProductRef:
    """The product version ``name`` means, among the published ``versions``.

    Args:
        name: ``domain.product`` or ``domain.product.vN``.
        versions: Every known major version of the product with its lifecycle status; empty
            when the product is not known (then the name is read by the naming convention,
            version 1 unless one is given, and the caller decides whether that is an error).
        version: ``--version N``: this major version (it must agree with a ``.vN`` in the name).
        where: Where ``versions`` come from, for messages (e.g. ``the catalog (_mesh.products)``).

    Raises:
        ConfigError: The name is malformed, names another version than ``version``, or names
            a version that is not among ``versions`` (the message lists those that are).
    """
    ref = parse_product(name, major=version)
    if not versions:
        return ref
    if version is not None or is_versioned(name):
        if ref.major not in versions:
            known = ", ".join(f"v{major} ({versions[major]})" for major in sorted(versions))
            raise ConfigError(
                f"product {ref.id} has no version {ref.major} in {where}; known versions: "
                f"{known}. Name one of them ({ref.id}.v<N> or --version N), or leave the "
                "version out for the latest active one"
            )
        return ref
    for status in _PREFERENCE:
        majors = [major for major, found in versions.items() if found == status]
        if majors:
            return parse_product(ref.id, major=max(majors))
    raise AssertionError("unreachable: versions is not empty")  # pragma: no cover
