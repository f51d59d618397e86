"""Reading request parameters and bodies the way Confluent's registry does."""

from __future__ import annotations

from typing import Any

import orjson

from streams.errors import RegistryRequestError
from streams.registry import codes
from streams.registry._http import Request

__all__ = ["flag", "page", "parse_version", "read_body", "schema_body"]

_MAX_VERSION = 2**31 - 1


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
    """A register/lookup/compatibility body: schema, schemaType, references, metadata, …"""
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
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RegistryRequestError(
            422, codes.INVALID_SCHEMA, "Invalid schema: 'metadata' must be an object."
        )
    for key in ("version", "id"):
        if key in body and body[key] is not None and not isinstance(body[key], int):
            raise RegistryRequestError(422, codes.INVALID_SCHEMA, f"'{key}' must be an integer.")
    return {
        "schema": schema,
        "references": references,
        "metadata": metadata,
        "version": body.get("version"),
        "id": body.get("id"),
    }
