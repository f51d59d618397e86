"""Texts still to be written: ``TODO``, ``FIXME`` or ``TBD`` where a meaning belongs.

``mesh product new`` writes such placeholders into the descriptor (``description.purpose`` and
``usage``) and the schema (the record's and the fields' docs) for the team to fill in. They are
warnings, not errors: the new product lints clean enough to apply, and the warnings say, with
their ``file:line``, what is left to write before anyone relies on the product.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from streams.catalog import LoadedProduct, show_path
from streams.governance._context import PolicyContext, violation
from streams.governance._violation import Violation

__all__ = ["PLACEHOLDER_RULE", "check_placeholders", "is_placeholder", "record_doc_placeholders"]

PLACEHOLDER_RULE = "GOV022-placeholder"

# TODO, FIXME or TBD as the text's first word: "a TODO list app" in a real text is fine.
_PLACEHOLDER = re.compile(r"\s*(TODO|FIXME|TBD)\b", re.IGNORECASE)


def is_placeholder(text: str) -> bool:
    """Whether ``text`` starts with TODO, FIXME or TBD (any case)."""
    return _PLACEHOLDER.match(text) is not None


def check_placeholders(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV022-placeholder: no descriptor text is still a TODO (a warning)."""
    return [
        violation(
            loaded,
            PLACEHOLDER_RULE,
            location,
            f"{_dotted(location)!r} is a placeholder: {text.strip()!r}",
            "replace it with the real text before consumers rely on the product "
            "(`mesh product show` and the catalog publish it)",
            severity="warning",
        )
        for location, text in _texts(loaded)
        if is_placeholder(text)
    ]


def _texts(loaded: LoadedProduct) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every free text of the descriptor, with its location (as written in the YAML)."""
    product = loaded.product
    if product.description is not None:
        description = product.description
        yield ("description", "purpose"), description.purpose
        yield ("description", "usage"), description.usage
        if description.limitations is not None:
            yield ("description", "limitations"), description.limitations
    if product.deprecation is not None:
        yield ("deprecation", "note"), product.deprecation.note
    for index, rule in enumerate(product.quality):
        if rule.description is not None:
            yield ("quality", index, "description"), rule.description


def _dotted(location: tuple[str | int, ...]) -> str:
    """``description.purpose``, ``quality[2].description``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def record_doc_placeholders(loaded: LoadedProduct) -> list[Violation]:
    """GOV005-field-docs warnings for the schema's named types (the record, nested records,
    enums) whose ``doc`` is a placeholder, at the line of that doc."""
    found: list[Violation] = []
    for definition in loaded.schema.named.values():
        doc = definition.get("doc")
        if not isinstance(doc, str) or not is_placeholder(doc):
            continue
        line = _line_of(loaded.schema_text, doc)
        if line is None:  # a referenced schema's type: its own file reports it
            continue
        name = str(definition.get("name", "")).rpartition(".")[2]
        found.append(
            Violation(
                rule_id="GOV005-field-docs",
                severity="warning",
                path=show_path(loaded.schema_path),
                line=line,
                message=f"{definition.get('type')} {name!r} has a placeholder doc: {doc!r}",
                hint=f'replace the placeholder with "<what one {name} says, and when it is sent>"',
            )
        )
    return found


def _line_of(text: str, doc: str) -> int | None:
    """The first line holding ``"doc": "<doc>"`` (any spacing, escaped or not), if any."""
    literals = {json.dumps(doc, ensure_ascii=False), json.dumps(doc)}
    pattern = re.compile(r'"doc"\s*:\s*(' + "|".join(map(re.escape, literals)) + ")")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return None
