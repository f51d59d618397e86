"""``--root``: the repository a command works on, found from any subdirectory like the platform."""

from __future__ import annotations

from pathlib import Path

import click

from streams.catalog import find_root

__all__ = ["repository", "root_option"]

root_option = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Repository root holding products/ and schemas/ [default: the nearest folder at or "
    "above the current one that holds either].",
)


def repository(root: Path | None) -> Path:
    """``--root`` if given, else the repository around the current folder, found as a
    descriptor's is (:func:`~streams.catalog.find_root`: the nearest folder holding
    ``products/`` or ``schemas/``), else the current folder (whose missing files the command
    then names)."""
    if root is not None:
        return root
    return find_root(Path.cwd() / "products.yaml")  # as if a descriptor stood here
