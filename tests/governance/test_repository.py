"""The repository's own descriptors are clean and the policy file loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.catalog import load_products, product_files
from streams.errors import DescriptorError
from streams.governance import GovernanceConfig, Violation, lint, load_governance, satisfies
from tests.catalog._repo import REPO, line_of

# The example company's products (the demo and the README use them). A product added with
# `mesh product new` joins them without editing this file.
EXAMPLES = {
    "artists.signings",
    "artists.track_releases",
    "listeners.profile_updates",
    "listeners.registrations",
    "player.hourly_play_sessions",
    "player.play_events",
    "player.player_errors",
    "playlists.generated_playlists",
}


def _placeholder(violation: Violation) -> bool:
    """A TODO text a new product starts with (its docs, its description): a warning that leaves
    the repository applicable."""
    return violation.severity == "warning" and violation.rule_id in (
        "GOV005-field-docs",
        "GOV022-placeholder",
    )


def test_repository_lint_is_clean() -> None:
    """Whatever products/ holds: no errors, and no warnings but the docs still to write."""
    assert [item for item in lint(REPO) if not _placeholder(item)] == []


def test_every_descriptor_loads_as_the_product_its_path_names() -> None:
    files = product_files(REPO)
    named = {f"{path.parent.name}.{path.name.split('.')[0]}" for path in files}
    assert {loaded.product.id for loaded in load_products(REPO)} == named


def test_every_example_product_has_a_descriptor() -> None:
    assert {loaded.product.id for loaded in load_products(REPO)} >= EXAMPLES


def test_policy_file_loads() -> None:
    config = load_governance(REPO)
    assert config.personal_data_classification == "confidential"
    assert config.max_personal_data_retention == 90 * 86400


def test_defaults_without_policy_file(tmp_path: Path) -> None:
    assert load_governance(tmp_path) == GovernanceConfig()


def test_bad_policy_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "governance.yaml"
    path.write_text("minPartitions: 1\nmaxPartitons: 5\n")
    with pytest.raises(DescriptorError) as caught:
        load_governance(tmp_path)
    assert caught.value.line == line_of(path, "maxPartitons")
    assert "governance.yaml:2: unknown field 'maxPartitons'" in str(caught.value)
    assert "did you mean 'maxPartitions'?" in str(caught.value)


@pytest.mark.parametrize(
    ("level", "minimum", "expected"),
    [
        ("BACKWARD", "BACKWARD", True),
        ("FULL", "BACKWARD", True),
        ("FULL_TRANSITIVE", "BACKWARD_TRANSITIVE", True),
        ("BACKWARD", "BACKWARD_TRANSITIVE", False),
        ("FORWARD", "BACKWARD", False),
        ("NONE", "BACKWARD", False),
        ("NONE", "NONE", True),
    ],
)
def test_satisfies(level: str, minimum: str, expected: bool) -> None:
    assert satisfies(level, minimum) is expected  # type: ignore[arg-type]
