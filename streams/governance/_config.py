"""``governance.yaml``: the thresholds the platform team sets; domains choose within them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from streams.avro import PROTECTIONS, CompatibilityLevel, Protection
from streams.catalog import (
    CLASSIFICATIONS,
    Classification,
    Retention,
    descriptor_error,
    problems_of,
    read_yaml,
)

__all__ = ["POLICY_FILE", "GovernanceConfig", "load_governance", "satisfies"]

POLICY_FILE = "governance.yaml"


class GovernanceConfig(BaseModel):
    """Global thresholds; every field has a default, used when ``governance.yaml`` is absent."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )

    allowed_classifications: tuple[Classification, ...] = Field(
        default=CLASSIFICATIONS, min_length=1
    )
    min_partitions: int = Field(default=1, ge=1)
    max_partitions: int = Field(default=64, ge=1)
    max_retention: Retention = Field(default="infinite", validate_default=True)
    max_personal_data_retention: Retention = Field(default="90d", validate_default=True)
    personal_data_classification: Classification = "confidential"
    min_compatibility: CompatibilityLevel = "BACKWARD"
    consumed_aggregate_compatibility: CompatibilityLevel = "BACKWARD_TRANSITIVE"
    allowed_pii_protections: tuple[Protection, ...] = Field(default=PROTECTIONS, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> GovernanceConfig:
        if self.min_partitions > self.max_partitions:
            raise ValueError(
                f"minPartitions {self.min_partitions} is above maxPartitions "
                f"{self.max_partitions}; lower one or raise the other"
            )
        return self


def load_governance(root: Path) -> GovernanceConfig:
    """The policy file ``<root>/governance.yaml``, or the defaults when there is none.

    Raises:
        DescriptorError: The file is malformed; the message names ``file:line`` and the fix.
    """
    path = root / POLICY_FILE
    if not path.is_file():
        return GovernanceConfig()
    data, source = read_yaml(path, what="policy file")
    try:
        return GovernanceConfig.model_validate(data)
    except ValidationError as exc:
        raise descriptor_error(path, problems_of(exc, source, GovernanceConfig)) from None


_DIRECTIONS = {"NONE": set(), "BACKWARD": {"b"}, "FORWARD": {"f"}, "FULL": {"b", "f"}}


def satisfies(level: CompatibilityLevel, minimum: CompatibilityLevel) -> bool:
    """Whether ``level`` promises at least what ``minimum`` does.

    ``FULL`` covers ``BACKWARD`` and ``FORWARD``; a ``_TRANSITIVE`` level covers its plain form.
    """
    if minimum == "NONE":
        return True
    base, minimum_base = level.removesuffix("_TRANSITIVE"), minimum.removesuffix("_TRANSITIVE")
    if not _DIRECTIONS[minimum_base] <= _DIRECTIONS[base]:
        return False
    return level.endswith("_TRANSITIVE") or not minimum.endswith("_TRANSITIVE")
