"""GOV023-pii-protection: every personal field says how it is protected, in a way that works.

A field's ``"pii"`` attribute is its protection: ``"pseudonymize"`` (a join key, replaced by a
keyed hash), or ``"encrypt"`` (a direct identifier or personal attribute, encrypted with the data
subject's key). ``emit`` applies the protection (:mod:`streams.access`), so the mark must be one
it can apply: a protection the mesh allows (``governance.yaml allowedPiiProtections``), on a type
it keeps (pseudonyms are strings or integers, ciphertexts strings or bytes), at the top level of
the record, and, when something is encrypted, with one data subject whose key encrypts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.avro import PROTECTIONS, SUBJECT_ATTRIBUTE, FieldInfo, Protection, iter_fields
from streams.catalog import LoadedProduct, show_path
from streams.governance._context import PolicyContext, field_line
from streams.governance._violation import Violation

__all__ = ["RULE", "check_pii_protection"]

RULE = "GOV023-pii-protection"
_FIX = (
    'write "pii": "pseudonymize" for a join key such as user_id (a keyed hash that still joins), '
    'or "pii": "encrypt" for a direct identifier or personal attribute (email, name)'
)
# The base types each protection keeps (the protected value has the same Avro type).
_FAMILIES: dict[Protection, tuple[str, ...]] = {
    "pseudonymize": ("string", "long", "int"),
    "encrypt": ("string", "bytes"),
}


def check_pii_protection(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV023-pii-protection: the ``pii`` marks of the value schema (see the module doc)."""
    schema = loaded.schema
    allowed = context.config.allowed_pii_protections
    found: list[Violation] = []

    def add(info: FieldInfo | None, message: str, hint: str) -> None:
        found.append(
            Violation(
                rule_id=RULE,
                severity="error",
                path=show_path(loaded.schema_path),
                line=field_line(loaded, info.name) if info is not None else 1,
                message=message,
                hint=hint,
            )
        )

    top = {info.name: info for info in iter_fields(schema, nested=False)}
    for info in iter_fields(schema):
        mark = info.pii_mark
        if mark is None:
            continue
        if mark is True:
            add(info, f'field {info.path!r} is marked "pii": true, which says no protection', _FIX)
            continue
        if info.protection is None:
            add(info, f'field {info.path!r} has an unknown "pii" value {mark!r}', _FIX)
            continue
        if info.protection not in allowed:
            add(
                info,
                f"field {info.path!r} asks for {info.protection!r}, which the mesh does not allow",
                f"use one of {', '.join(repr(p) for p in allowed)} (governance.yaml "
                "allowedPiiProtections), or ask the platform team to allow it",
            )
        if info.path not in top:
            add(
                info,
                f"field {info.path!r} is protected inside a nested type; only top-level fields "
                "are protected",
                "move the personal field to the top level of the record",
            )
            continue
        problem = _type_problem(info.protection, info.type)
        if problem:
            add(
                info,
                f"field {info.path!r} cannot be {_verb(info.protection)}: {problem}",
                _type_hint(info.protection),
            )
    encrypted = [info.path for info in top.values() if info.protection == "encrypt"]
    if encrypted:
        _check_subject(loaded, top, encrypted, add)
    return found


def _check_subject(
    loaded: LoadedProduct,
    top: dict[str, FieldInfo],
    encrypted: list[str],
    add: Callable[[FieldInfo | None, str, str], None],
) -> None:
    """Report (through ``add``) what is wrong with the record's data subject."""
    named = loaded.schema.definition.get(SUBJECT_ATTRIBUTE)
    fields = ", ".join(encrypted)
    if named is None:
        pseudonymized = [name for name, info in top.items() if info.protection == "pseudonymize"]
        if len(pseudonymized) == 1:
            if isinstance(top[pseudonymized[0]].type, list):
                add(
                    top[pseudonymized[0]],
                    f"the data subject {pseudonymized[0]!r}, whose key encrypts {fields}, is "
                    "nullable: a record without it could not be encrypted",
                    "make the field required, or name a required field as the subject: "
                    f'"{SUBJECT_ATTRIBUTE}": "<field>"',
                )
            return
        which = (
            f"{len(pseudonymized)} pseudonymized fields ({', '.join(pseudonymized)})"
            if pseudonymized
            else "no pseudonymized field"
        )
        add(
            None,
            f"encrypted fields ({fields}) need a data subject, whose key encrypts them; the "
            f"record has {which}",
            f'name it at the record level: "{SUBJECT_ATTRIBUTE}": "<field>" (e.g. the user_id '
            'field), or mark exactly one join key "pii": "pseudonymize"',
        )
        return
    info = top.get(named) if isinstance(named, str) else None
    if info is None:
        add(
            None,
            f'"{SUBJECT_ATTRIBUTE}": {named!r} is not a top-level field of the record',
            f"name one of: {', '.join(top)}",
        )
    elif _base(info.type) not in _FAMILIES["pseudonymize"]:
        add(
            info,
            f'"{SUBJECT_ATTRIBUTE}" field {named!r} is not a string, long or int (null cannot '
            "be a data subject)",
            "name a required string, long or int field that identifies the person",
        )
    elif info.protection == "encrypt":
        add(info, f"the data subject {named!r} is itself encrypted", _FIX)


def _base(node: Any) -> str | None:
    """The base type of a non-union type: ``string``, ``long``, ``record``..."""
    if isinstance(node, dict):
        kind = node.get("type")
        return kind if isinstance(kind, str) else None
    return node if isinstance(node, str) else None


def _type_problem(protection: Protection, node: Any) -> str:
    """Why ``node`` cannot carry the protected value, or ``""``."""
    branches = node if isinstance(node, list) else [node]
    present = [branch for branch in branches if branch != "null"]
    if len(present) != 1:
        return "a union of several types (only a type or a nullable type can be protected)"
    kind = present[0]
    base = _base(kind)
    families = _FAMILIES[protection]
    if base not in families:
        return f"its type is {base or kind!r}, not {' or '.join(families)}"
    logical = kind.get("logicalType") if isinstance(kind, dict) else None
    if logical is not None and not (protection == "pseudonymize" and logical == "uuid"):
        return f"its logicalType {logical!r} would not hold the protected value"
    return ""


def _verb(protection: Protection) -> str:
    return "pseudonymized" if protection == "pseudonymize" else "encrypted"


def _type_hint(protection: Protection) -> str:
    other = next(p for p in PROTECTIONS if p != protection)
    families = " or ".join(_FAMILIES[protection])
    return f"make it a {families} (nullable allowed), or mark it {other!r} if that fits its type"
