"""Check documents against the open standards' official JSON schemas, shipped in ``standards/``.

The schemas are the bitol-io projects' own files (ODCS v3.1.0, ODPS v1.0.0; see
``standards/README.md``), loaded from the package so export and import validate at run time,
offline. A problem is reported as ``<json path>: <message>``, the path written the way a reader
finds it in the YAML (``schema[0].properties[2].logicalType``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, Literal

from jsonschema import Draft201909Validator
from jsonschema.exceptions import ValidationError

from streams.errors import ContractError

__all__ = [
    "ODCS_VERSION",
    "ODPS_VERSION",
    "Standard",
    "json_path",
    "problems",
    "require_valid",
]

Standard = Literal["odcs", "odps"]

ODCS_VERSION = "v3.1.0"
ODPS_VERSION = "v1.0.0"

_SHOWN = 20
"""Problems listed in an error's message (all of them are in its ``problems``)."""
_FILES: dict[Standard, str] = {
    "odcs": f"odcs-json-schema-{ODCS_VERSION}.json",
    "odps": f"odps-json-schema-{ODPS_VERSION}.json",
}


@functools.cache
def _validator(standard: Standard) -> Draft201909Validator:
    text = resources.files("streams.catalog").joinpath("standards", _FILES[standard]).read_text()
    return Draft201909Validator(json.loads(text))


def problems(standard: Standard, document: Mapping[str, Any]) -> list[str]:
    """What makes ``document`` invalid against the standard's schema, ``[]`` when it is valid.

    Each problem is ``<json path>: <message>``, sorted by path; of the alternatives a
    ``oneOf``/``anyOf`` offers, the closest one's problem is reported (not all of them).
    """
    found = {_describe(error) for error in _leaves(_validator(standard).iter_errors(document))}
    return sorted(found)


def json_path(parts: Iterable[str | int]) -> str:
    """``["schema", 0, "name"]`` -> ``schema[0].name`` (``$`` for the document itself)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def _leaves(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """The most specific errors: through ``oneOf``/``anyOf``/``allOf`` to the best match.

    A wrong type inside ``team`` (an object or an array) is otherwise reported as "is not valid
    under any of the given schemas", which says neither where nor why.
    """
    for error in errors:
        if error.context:
            best = max(error.context, key=lambda item: len(item.absolute_path))
            deepest = [item for item in error.context if item.path == best.path]
            yield from _leaves(deepest[:1])
        else:
            yield error


def _describe(error: ValidationError) -> str:
    return f"{json_path(error.absolute_path)}: {error.message}{_hint(error)}"


def _hint(error: ValidationError) -> str:
    """How to fix the common problems, in the document's terms."""
    if error.validator == "required":
        return "; add it"
    if error.validator in ("unevaluatedProperties", "additionalProperties"):
        return (
            "; remove or rename them (a key of your own goes under 'customProperties' as "
            "{property: ..., value: ...})"
        )
    if error.validator == "type":
        return f"; write a {error.validator_value}"
    if error.validator == "enum":
        return "; use one of those"
    return ""


def require_valid(standard: Standard, document: Mapping[str, Any], *, source: str) -> None:
    """Raise when ``document`` breaks the standard's schema.

    Raises:
        ContractError: With every problem in ``problems``; the message's first line names the
            first, the following lines the others.
    """
    found = problems(standard, document)
    if found:
        name = f"ODCS {ODCS_VERSION}" if standard == "odcs" else f"ODPS {ODPS_VERSION}"
        more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
        # The others on lines of their own (the CLI shows them under its one red line).
        rest = "".join(f"\n  {problem}" for problem in found[1:_SHOWN])
        if len(found) > _SHOWN:
            rest += f"\n  ... {len(found) - _SHOWN} more"
        raise ContractError(
            f"{source} is not a valid {name} document: {found[0]}{more}{rest}",
            source=source,
            problems=found,
        )
