"""Schema text -> JSON data, refusing what would break a later step with another exception.

``json.loads`` alone accepts lone surrogates (which cannot be stored or sent as UTF-8),
``1e400`` (which becomes infinity, which the canonical form cannot print) and nesting deep
enough to exhaust the stack of every recursive walk after it. :func:`load_json` refuses them
with a :class:`SchemaJSONError` that says where and how to fix it.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

__all__ = ["MAX_JSON_DEPTH", "SchemaJSONError", "load_json"]

MAX_JSON_DEPTH = 256


class SchemaJSONError(Exception):
    """Why the text is refused; ``pointer`` is the JSON pointer, when there is one.

    Internal: the parser always turns it into :class:`~streams.errors.InvalidSchemaError`.
    """

    def __init__(self, message: str, pointer: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer


def load_json(text: str) -> Any:
    """Parse schema JSON; raise :class:`SchemaJSONError` for anything a schema cannot hold."""
    if not _valid_unicode(text):
        raise SchemaJSONError("holds a lone surrogate; send valid Unicode (UTF-8) text.")
    try:
        node = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise SchemaJSONError(
            f"nests JSON more than {MAX_JSON_DEPTH} levels deep; flatten it (name the nested "
            "types and refer to them by name)."
        ) from None
    except json.JSONDecodeError as exc:
        raise SchemaJSONError(
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}. Avro "
            'schemas are JSON; quote type names (e.g. "string").'
        ) from None
    except ValueError as exc:  # our hooks, and ints longer than Python converts
        raise SchemaJSONError(f"is not valid JSON: {exc}.") from None
    problem = _structure_problem(node)
    if problem is not None:
        raise SchemaJSONError(problem[1], problem[0])
    return node


def _reject_constant(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ValueError(f"the number {shown} is out of range (not a finite double)")
    return number


def _structure_problem(node: Any) -> tuple[str, str] | None:
    """(JSON pointer, problem) for JSON too deep or with a lone surrogate (iterative: no stack)."""
    stack: list[tuple[Any, str, int]] = [(node, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return path, f"the JSON nests more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(item, str):
            if not _valid_unicode(item):
                return path, "a string holds a lone surrogate; send valid Unicode text"
        elif isinstance(item, dict):
            for key, value in item.items():
                if not _valid_unicode(key):
                    return path, "a key holds a lone surrogate; send valid Unicode text"
                stack.append((value, f"{path}/{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((value, f"{path}/{index}", depth + 1) for index, value in enumerate(item))
    return None


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
