"""The optional dependencies of ``streams.query`` (the ``query`` extra: pyarrow and duckdb).

Imported when a query runs, not when ``streams.query`` is imported, so the CLI and the rest of
the library work without them and a missing one is a clear error naming the extra.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from streams.errors import ConfigError

if TYPE_CHECKING:
    from streams.query._arrow import ArrowLayout

__all__ = ["EXTRA_HINT", "arrow_layout", "check_extra", "duckdb"]

EXTRA_HINT = (
    "install the 'query' extra: pip install 'streams[query]' (scripts/install includes it in .venv)"
)


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"reading products as tables needs {module}, which is not installed: {EXTRA_HINT}"
        ) from exc


def arrow_layout() -> Callable[[str], ArrowLayout]:
    """:func:`streams.query._arrow.layout_of`, once pyarrow is known to be there.

    Raises:
        ConfigError: pyarrow is missing (the message names the extra).
    """
    _require("pyarrow")
    from streams.query._arrow import layout_of

    return layout_of


def duckdb() -> ModuleType:
    """The duckdb module.

    Raises:
        ConfigError: duckdb (or pyarrow) is missing (the message names the extra).
    """
    _require("pyarrow")
    return _require("duckdb")


def check_extra() -> None:
    """Fail early, before any network call, when the ``query`` extra is missing.

    Raises:
        ConfigError: pyarrow or duckdb is missing (the message names the extra).
    """
    duckdb()
