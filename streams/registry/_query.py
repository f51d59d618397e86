"""Reading request parameters and bodies the way Confluent's registry does."""

from __future__ import annotations

from typing import Any

import orjson
import pydantic
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from streams.errors import RegistryRequestError
from streams.registry import codes
from streams.registry._http import Request
from streams.registry._rules import rule_set_of

__all__ = [
    "config_update",
    "flag",
    "metadata_of",
    "page",
    "parse_version",
    "read_body",
    "schema_body",
]

_MAX_VERSION = 2**31 - 1


class _Metadata(TypedDict, total=False):
    """Confluent's ``Metadata``: unknown keys are dropped, as Confluent ignores them."""

    tags: dict[str, list[str]]
    properties: dict[str, str]
    sensitive: list[str]


# Confluent's ConfigUpdateRequest fields this registry stores or checks.
class _ConfigUpdate(TypedDict, total=False):
    compatibility: str
    compatibilityLevel: str
    compatibilityGroup: str
    alias: str
    normalize: bool
    validateFields: bool
    defaultMetadata: _Metadata
    overrideMetadata: _Metadata


_METADATA = pydantic.TypeAdapter(_Metadata)
_CONFIG = pydantic.TypeAdapter(_ConfigUpdate)
_METADATA_HELP = (
    "metadata holds 'properties' (names to strings), 'tags' (names to lists of strings) and "
    "'sensitive' (a list of strings)"
)


def _without_nulls(value: Any) -> Any:
    # Confluent reads a null field as an absent one.
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


def _problem(exc: pydantic.ValidationError, prefix: str) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join([prefix, *(str(part) for part in error["loc"])]).strip(".")
    got = repr(error.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    return f"{where}: {error['msg'].lower()} (got {got})"


def metadata_of(value: Any) -> dict[str, Any] | None:
    """A schema's metadata checked against Confluent's model; 422/42201 naming the bad key."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = {k: _without_nulls(v) for k, v in _without_nulls(value).items()}
    try:
        return dict(_METADATA.validate_python(value, strict=True))
    except pydantic.ValidationError as exc:
        raise RegistryRequestError(
            422,
            codes.INVALID_SCHEMA,
            f"Invalid schema: {_problem(exc, 'metadata')}; {_METADATA_HELP}.",
        ) from exc


def config_update(body: dict[str, Any]) -> dict[str, Any]:
    """The known fields of a config update, type-checked; 422/42203 naming the bad field."""
    try:
        checked = dict(_CONFIG.validate_python(_without_nulls(body), strict=True))
    except pydantic.ValidationError as exc:
        problem = _problem(exc, "")
        hint = (
            _METADATA_HELP
            if "Metadata" in problem.partition(":")[0]
            else "compatibility, compatibilityGroup and alias are strings; normalize and "
            "validateFields are booleans (true or false)"
        )
        raise RegistryRequestError(
            422, codes.INVALID_COMPATIBILITY_LEVEL, f"Invalid config: {problem}; {hint}."
        ) from exc
    return checked


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter; clients send ``true``, ``True`` or ``1``."""
    return request.query.get(name, "").lower() in ("true", "1")


def page(request: Request, items: list[Any]) -> list[Any]:
    """Apply ``offset`` and ``limit`` (``-1`` or absent: no limit)."""
    try:
        offset = max(int(request.query.get("offset", "0")), 0)
        limit = int(request.query.get("limit", "-1"))
    except ValueError as exc:
        raise RegistryRequestError(
            422, codes.UNPROCESSABLE, "offset and limit must be integers (limit -1 for all)."
        ) from exc
    return items[offset:] if limit < 0 else items[offset : offset + limit]


def parse_version(text: str) -> int:
    """A version id: 1..2^31-1, ``latest`` (any case) or ``-1``; -1 stands for latest."""
    if text.lower() == "latest":
        return -1
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number == -1 or 1 <= number <= _MAX_VERSION:
        return number
    raise RegistryRequestError(
        422,
        codes.INVALID_VERSION,
        f"The specified version '{text}' is not a valid version id. Allowed values are between "
        '[1, 2^31-1] and the string "latest"',
    )


def read_body(request: Request) -> dict[str, Any]:
    """The JSON object in the body; 400 when it is not JSON, 422 when it is not an object."""
    try:
        body = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise RegistryRequestError(
            400,
            codes.BAD_REQUEST,
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}. Send a JSON object in UTF-8 (nested at most 1024 deep).",
        ) from exc
    if not isinstance(body, dict):
        raise RegistryRequestError(
            422, codes.UNPROCESSABLE, "The request body must be a JSON object."
        )
    return body


def schema_body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """A register/lookup/compatibility body: schema, schemaType, references, metadata, ruleSet…"""
    body = read_body(request)
    schema = body.get("schema")
    if schema is None and allow_empty:
        schema = ""
    if not isinstance(schema, str):
        raise RegistryRequestError(
            422, codes.INVALID_SCHEMA, "Invalid schema: the body needs a 'schema' string."
        )
    if not schema and not allow_empty:
        raise RegistryRequestError(422, codes.INVALID_SCHEMA, "Invalid schema: empty schema.")
    schema_type = body.get("schemaType") or "AVRO"
    if schema_type != "AVRO":
        raise RegistryRequestError(
            422,
            codes.INVALID_SCHEMA,
            f"Invalid schema type {schema_type!r}: this registry serves AVRO schemas only.",
        )
    references = body.get("references") or []
    if not isinstance(references, list) or not all(isinstance(r, dict) for r in references):
        raise RegistryRequestError(
            422, codes.INVALID_SCHEMA, "Invalid schema: 'references' must be a list of objects."
        )
    metadata = metadata_of(body.get("metadata"))
    rule_set = rule_set_of(body.get("ruleSet"))
    for key in ("version", "id"):
        if key in body and body[key] is not None and not isinstance(body[key], int):
            raise RegistryRequestError(422, codes.INVALID_SCHEMA, f"'{key}' must be an integer.")
    return {
        "schema": schema,
        "references": references,
        "metadata": metadata,
        "rule_set": rule_set,
        "version": body.get("version"),
        "id": body.get("id"),
    }
