"""Code generation: pydantic models from the Avro schemas of ``schemas/<domain>/``.

:func:`render_models` is the pure core (schemas in, Python source out);
:func:`generate`, :func:`stale` and :func:`write` apply it to a repository, one
``products/<domain>/events.py`` per domain, as ``mesh codegen`` does.
"""

from __future__ import annotations

from streams.codegen._files import generate, stale, write
from streams.codegen._render import render_models

__all__ = ["generate", "render_models", "stale", "write"]
