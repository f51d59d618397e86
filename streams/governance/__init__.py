"""Federated computational governance: global policies as pure functions over descriptors.

Each policy takes one :class:`~streams.catalog.LoadedProduct` and a :class:`PolicyContext`
(thresholds from ``governance.yaml``, the other products) and returns :class:`Violation` data
with a stable rule id and a fix hint. Nothing here raises for a broken rule: enforcement points
(``mesh product lint``, ``apply``) decide what to do with the violations.

Rule ids: ``GOV000-descriptor`` (file does not load), ``GOV001-required``, ``GOV002-naming``,
``GOV003-location``, ``GOV004-schema-location``, ``GOV005-field-docs``, ``GOV006-pii``,
``GOV007-classification``, ``GOV008-partitions``, ``GOV009-retention``,
``GOV010-compatibility``, ``GOV011-kind-inputs``, ``GOV012-inputs``, ``GOV013-fields``,
``GOV014-lifecycle``, ``GOV015-duplicate``, ``GOV020-breaking-change``,
``GOV021-logical-type``, ``GOV022-placeholder``, ``GOV023-pii-protection`` (``GOV016``..
``GOV019`` are the derived products' code rules of :mod:`streams.agents.lint`).
"""

from __future__ import annotations

from streams.governance._breaking import BREAKING_RULE, breaking_change
from streams.governance._config import POLICY_FILE, GovernanceConfig, load_governance, satisfies
from streams.governance._context import Policy, PolicyContext
from streams.governance._enforce import checked_apply
from streams.governance._lint import DESCRIPTOR_RULE, POLICIES, check, lint
from streams.governance._paths import display_path, with_display_paths
from streams.governance._violation import Severity, Violation

__all__ = [
    "BREAKING_RULE",
    "DESCRIPTOR_RULE",
    "POLICIES",
    "POLICY_FILE",
    "GovernanceConfig",
    "Policy",
    "PolicyContext",
    "Severity",
    "Violation",
    "breaking_change",
    "check",
    "checked_apply",
    "display_path",
    "lint",
    "load_governance",
    "satisfies",
    "with_display_paths",
]
