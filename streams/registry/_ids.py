"""Choosing a schema id: Confluent's rules plus the limit of its 4-byte wire framing.

Confluent ids are Java ints, carried in 4 signed bytes after the magic byte of every message, so
an id must lie in ``1..2^31-1``. In IMPORT mode a client names the id; it may repeat the id of
the same schema (an import of the same thing) but never take one that belongs to another schema.
"""

from __future__ import annotations

from streams.errors import RegistryRequestError
from streams.registry import codes
from streams.registry.state import MAX_ID, RegistryState

__all__ = ["check_id_matches", "check_id_range", "check_version", "choose_id"]


def check_version(version: int | None) -> None:
    """Refuse a requested version no Confluent client can hold: 422/42202 outside 1..2^31-1.

    ``0`` and ``-1`` (and no version) mean "the next one".
    """
    if version is not None and version not in (-1, 0) and not 1 <= version <= MAX_ID:
        raise RegistryRequestError(
            422,
            codes.INVALID_VERSION,
            f"The requested version {version} is not a valid version: versions are "
            f"1..{MAX_ID} (a Java int). Leave 'version' out to get the next one.",
        )


def check_id_matches(stored: int, requested: int | None) -> None:
    """A schema already stored keeps its id: refuse another one (Confluent's 42207)."""
    if requested is not None and requested >= 0 and requested != stored:
        raise RegistryRequestError(
            422,
            codes.ID_DOES_NOT_MATCH,
            f"Schema already registered with id {stored} instead of input id {requested}. "
            f"Import it with id {stored}, or leave 'id' out.",
        )


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
        if reused is not None:
            check_id_matches(reused, requested)
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


def check_id_range(schema_id: int) -> None:
    """Refuse a requested id outside ``1..2^31-1`` (422), before any compatibility check."""
    if not 1 <= schema_id <= MAX_ID:
        raise RegistryRequestError(
            422,
            codes.UNPROCESSABLE,
            f"Schema id {schema_id} is out of range: ids are 1..{MAX_ID} (2^31-1), the range a "
            "Confluent wire-format header (4 signed bytes) can carry.",
        )


def _check_import(state: RegistryState, schema_id: int, identity: str) -> None:
    check_id_range(schema_id)
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
