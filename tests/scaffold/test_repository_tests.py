"""A new domain must not break the repository's own tests: they check whatever products/ holds.

They once listed the domains, products and records by name, so five failed as soon as a team
added a product. Here a copy of the repository gets a new domain and an aggregate from
``mesh product new``, and the tests that walk ``products/`` and ``schemas/`` run on the copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from streams.scaffold import new_product
from tests.scaffold._copy import REPO, SAMPLE, copy_repo

# The tests that run over the repository's products, schemas and generated models.
SUITE = [
    "tests/governance/test_repository.py",
    "tests/test_schemas.py",
    "tests/agents/test_lint.py",
    "tests/cli/test_product_cli.py",
    "tests/codegen/test_codegen.py::test_checked_in_modules_are_what_generate_gives",
    "tests/codegen/test_codegen.py::test_modules_start_with_the_header_and_export_every_class",
    "tests/codegen/test_codegen.py::test_generated_modules_pass_ruff",
    "tests/codegen/test_codegen.py::test_every_example_is_of_a_record",
    "tests/codegen/test_codegen.py::test_every_record_has_its_model",
    "tests/products",
]


def test_the_repository_tests_pass_with_a_new_domain_and_aggregate(tmp_path: Path) -> None:
    root = copy_repo(tmp_path / "repo")
    shutil.rmtree(root / "tests")
    shutil.copytree(REPO / "tests", root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    sample = tmp_path / "signup.json"
    sample.write_text(json.dumps(SAMPLE))
    new_product(root, "partners.signups", sample=sample)
    new_product(root, "partners.signups_per_hour", kind="aggregate", inputs=["partners.signups"])
    new_product(root, "player.skips")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITE],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
