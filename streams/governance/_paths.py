"""How lint names a file: a path that opens from where the user is, the same way every time."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

from streams.governance._violation import Violation

__all__ = ["display_path", "with_display_paths"]


def display_path(path: str | Path, *, root: Path) -> str:
    """``path`` as lint prints it.

    Inside the repository (``root``) or above the file, relative to the working directory,
    with ``..`` where needed, as git prints paths: from ``products/`` the schema is
    ``../schemas/player/PlayEvent.avsc``, and every printed path opens from there. From
    elsewhere, relative to the repository root (``products/player/play_events.yaml``).
    A file outside the repository keeps its absolute path.

    Args:
        path: The file, absolute or relative to the working directory.
        root: The repository root.
    """
    cwd = Path.cwd().resolve()
    file = (cwd / path).resolve()
    top = root.resolve()
    if file.is_relative_to(cwd) or cwd.is_relative_to(top):
        return Path(os.path.relpath(file, cwd)).as_posix()
    if file.is_relative_to(top):
        return file.relative_to(top).as_posix()
    return file.as_posix()


def with_display_paths(violations: Iterable[Violation], *, root: Path) -> list[Violation]:
    """``violations`` with their paths as :func:`display_path` shows them."""
    return [
        item
        if item.path is None
        else dataclasses.replace(item, path=display_path(item.path, root=root))
        for item in violations
    ]
