"""Scaffolding: a new data product from one command (``mesh product new``).

:func:`new_product` writes a lint-clean schema (fields inferred from a sample event by
:func:`infer_fields`, documented with ``TODO`` docs that lint reports as warnings), a descriptor
with the defaults of the mesh's policy, the generated models, for an aggregate the code its
agents run, and a test. ``mesh product apply`` then makes it a topic that accepts events.

:func:`import_contract` does the same from a team's existing ODCS data contract.

It sits above ``catalog``, ``codegen`` and ``governance``, whose public functions it calls.
"""

from __future__ import annotations

from streams.scaffold._import import Imported, import_contract
from streams.scaffold._infer import infer_fields
from streams.scaffold._new import NewKind, Scaffold, new_product

__all__ = [
    "Imported",
    "NewKind",
    "Scaffold",
    "import_contract",
    "infer_fields",
    "new_product",
]
