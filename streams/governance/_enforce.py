"""Enforcement at publish time: lint, refuse on errors, then apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from streams.catalog import ApplyResult, Change, apply, load_path
from streams.config import Settings
from streams.errors import GovernanceError
from streams.governance._lint import lint

__all__ = ["checked_apply"]


def checked_apply(
    path: Path,
    *,
    settings: Settings,
    on_change: Callable[[Change], None] | None = None,
    force: bool = False,
) -> ApplyResult:
    """Lint ``path`` (a repository, a folder inside one, or one descriptor), refuse on any
    governance error, then apply its products (``force`` revives retired versions).

    Raises:
        GovernanceError: A governance policy reports an error; nothing was changed.
        IncompatibleSchemaError: A schema change breaks its subject's compatibility level.
        BrokerUnavailableError: Kafka cannot be reached.
        RegistryUnavailableError: The schema registry cannot be reached.
    """
    errors = [item for item in lint(path) if item.severity == "error"]
    if errors:
        lines = "\n".join(f"  {v.location}: {v.rule_id}: {v.message} ({v.hint})" for v in errors)
        raise GovernanceError(
            f"apply refused: {len(errors)} governance error(s), nothing was changed; fix them "
            f"('mesh product lint' lists them):\n{lines}",
            violations=errors,
        )
    return apply(load_path(path), settings=settings, on_change=on_change, force=force)
