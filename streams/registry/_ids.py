"""Choosing a schema id: Confluent's rules plus the limit of its 4-byte wire framing.

Confluent ids are Java ints, carried in 4 signed bytes after the magic byte of every message, so
an id must lie in ``1..2^31-1``. In IMPORT mode a client names the id; it may repeat the id of
the same schema (an import of the same thing) but never take one that belongs to another schema.
"""

from __future__ import annotations

from streams.errors import RegistryRequestError
from streams.registry import codes
from streams.registry.state import MAX_ID, RegistryState

__all__ = ["choose_id"]


def choose_id(
    state: RegistryState,
    identity: str,
    *,
    requested: int | None,
    reused: int | None,
    importing: bool,
) -> int:
    """The id a new version gets: the requested one (IMPORT), the schema's own, or the next.

    Raises:
        RegistryRequestError: 422/42205 for an id outside IMPORT mode, one held by another
            schema, or when no id is left; 422 for an id outside ``1..2^31-1``.
    """
    if requested is not None:
        if not importing:
            raise RegistryRequestError(
                422,
                codes.OPERATION_NOT_PERMITTED,
                "An explicit schema id is only accepted in IMPORT mode.",
            )
        _check_import(state, requested, identity)
        return requested
    if reused is not None:
        return reused
    if state.max_id >= MAX_ID:
        raise RegistryRequestError(
            422,
            codes.OPERATION_NOT_PERMITTED,
            f"No schema id is left: the highest id in use is {state.max_id} and ids end at "
            f"{MAX_ID} (2^31-1). Import this schema with an explicit free id.",
        )
    return state.max_id + 1


def _check_import(state: RegistryState, schema_id: int, identity: str) -> None:
    if not 1 <= schema_id <= MAX_ID:
        raise RegistryRequestError(
            422,
            codes.UNPROCESSABLE,
            f"Schema id {schema_id} is out of range: ids are 1..{MAX_ID} (2^31-1), the range a "
            "Confluent wire-format header (4 signed bytes) can carry.",
        )
    entry = state.entry(schema_id)
    if entry is not None and entry.identity != identity:
        subject, version = min(entry.holders, default=("?", 0))
        raise RegistryRequestError(
            422,
            codes.OPERATION_NOT_PERMITTED,
            f"Overwrite new schema with id {schema_id} is not permitted: id {schema_id} already "
            f"belongs to another schema (subject {subject!r} version {version}). Import this "
            f"schema under a free id (the highest in use is {state.max_id}).",
        )
