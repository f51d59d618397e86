"""A schema's ``ruleSet`` (Confluent data contracts) checked and normalised as Confluent does.

Confluent's ``Rule`` bean fills ``kind`` (TRANSFORM) and ``mode`` (WRITEREAD), keeps ``tags``
as a sorted set and ``params`` as a sorted map, and leaves out empty values; ``RuleSet.validate``
refuses a missing or ill-formed name, a duplicate name, a missing type, several actions on a
one-way rule, and a mode that does not belong to the rule's list. Normalising here makes two
spellings of the same rule set one schema (one id), as Confluent's hash does.
"""

from __future__ import annotations

from typing import Any

from streams.errors import RegistryRequestError
from streams.registry import codes

__all__ = ["rule_set_of"]

_LISTS = {
    "migrationRules": ("UPGRADE", "DOWNGRADE", "UPDOWN"),
    "domainRules": ("WRITE", "READ", "WRITEREAD"),
    "encodingRules": ("WRITE", "READ", "WRITEREAD"),
}
_KINDS = ("CONDITION", "TRANSFORM")
_MODES = ("UPGRADE", "DOWNGRADE", "UPDOWN", "WRITE", "READ", "WRITEREAD")
_TEXTS = ("name", "doc", "type", "expr", "onSuccess", "onFailure")
_NAME_MAX = 64


def _invalid(message: str) -> RegistryRequestError:
    return RegistryRequestError(422, codes.INVALID_RULE_SET, f"Invalid rule set: {message}")


def _name_problem(name: Any) -> str | None:
    if name is None:
        return "Missing rule name"
    if not isinstance(name, str) or not name:
        return "Empty rule name"
    if len(name) > _NAME_MAX:
        return f"Rule name too long (at most {_NAME_MAX} characters): {name}"
    if not (name[0].isalpha() or name[0] == "_"):
        return f"Illegal initial character in rule name: {name}"
    if not all(c.isalnum() or c in "_-" for c in name[1:]):
        return f"Illegal character in rule name: {name} (letters, digits, '_' and '-' only)"
    return None


def _rule(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be an object")
    rule: dict[str, Any] = {}
    for key in _TEXTS:
        item = value.get(key)
        if item is not None and not isinstance(item, str):
            raise _invalid(f"{where}.{key} must be a string")
        if item:
            rule[key] = item
    for key, allowed, default in (("kind", _KINDS, "TRANSFORM"), ("mode", _MODES, "WRITEREAD")):
        item = value.get(key) or default
        if item not in allowed:
            raise _invalid(f"{where}.{key} is {item!r}; use one of {', '.join(allowed)}")
        rule[key] = item
    tags = value.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _invalid(f"{where}.tags must be a list of strings")
    if tags:
        rule["tags"] = sorted(set(tags))
    params = value.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise _invalid(f"{where}.params must map names to strings")
    if params:
        rule["params"] = dict(sorted(params.items()))
    disabled = value.get("disabled", False)
    if not isinstance(disabled, bool):
        raise _invalid(f"{where}.disabled must be true or false")
    rule["disabled"] = disabled
    return rule


def rule_set_of(value: Any) -> dict[str, Any] | None:
    """The normalised rule set of a request, or None when it has none.

    Raises:
        RegistryRequestError: 422/42210 naming the offending rule, as Confluent refuses it.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("'ruleSet' must be an object of migrationRules, domainRules, encodingRules")
    normal: dict[str, Any] = {}
    names: set[str] = set()
    for key, modes in _LISTS.items():
        rules = value.get(key) or []
        if not isinstance(rules, list):
            raise _invalid(f"{key} must be a list of rules")
        checked = []
        for index, item in enumerate(rules):
            rule = _rule(item, f"{key}[{index}]")
            problem = _name_problem(rule.get("name"))
            if problem:
                raise _invalid(f"{problem} ({key}[{index}])")
            if rule["name"] in names:
                raise _invalid(f"Found rule with duplicate name '{rule['name']}'")
            names.add(rule["name"])
            if "type" not in rule:
                raise _invalid(f"Missing rule type ({key}[{index}], rule '{rule['name']}')")
            if rule["mode"] not in ("WRITEREAD", "UPDOWN") and any(
                "," in rule.get(action, "") for action in ("onSuccess", "onFailure")
            ):
                raise _invalid("Multiple actions only valid with WRITEREAD and UPDOWN")
            if rule["mode"] not in modes:
                kind = key.removesuffix("Rules").capitalize()
                raise _invalid(
                    f"{kind} rules can only be {', '.join(modes)} (rule '{rule['name']}' is "
                    f"{rule['mode']})"
                )
            checked.append(rule)
        if checked:
            normal[key] = checked
    enable_at = value.get("enableAt")
    if enable_at is not None:
        if not isinstance(enable_at, str):
            raise _invalid("enableAt must be a string")
        normal["enableAt"] = enable_at
    return normal
