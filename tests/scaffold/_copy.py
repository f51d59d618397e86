"""A temporary copy of the repository's layout, for commands that write into it."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).parents[2]

SAMPLE = {
    "partner_id": "0b9c1c2e-7d3a-4c1e-9a57-2f1d0e8b6a41",
    "email": "ada@partner.example",
    "signed_at": "2026-01-31T18:30:00+01:00",
    "plan": {"tier": "gold", "seats": 12},
    "regions": ["EU", "US"],
    "score": 2.5,
    "starts_on": "2026-02-01",
    "active": True,
}


def copy_repo(dest: Path) -> Path:
    """``products/``, ``schemas/``, ``governance.yaml``, ``pyproject.toml`` and ``tests/__init__``
    of this repository under ``dest`` (``tests/`` is a package here, as in the repository)."""
    for part in ("products", "schemas"):
        shutil.copytree(REPO / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("governance.yaml", "pyproject.toml", "tests/__init__.py"):
        (dest / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / part, dest / part)
    return dest
