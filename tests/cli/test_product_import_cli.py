"""``mesh product import --format odcs`` through click's runner: files written, then linted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from streams.catalog import load_product, load_products
from streams.cli import main
from tests.catalog._repo import REPO
from tests.catalog.test_import import SELLER, assert_equivalent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository with the mesh's policy file."""
    shutil.copy(REPO / "governance.yaml", tmp_path / "governance.yaml")
    return tmp_path


def _import(runner: CliRunner, repo: Path, *args: str) -> object:
    return runner.invoke(main, ["product", "import", "--format", "odcs", *args, "--out", str(repo)])


def test_a_hand_written_contract_becomes_a_lint_clean_product(
    runner: CliRunner, repo: Path
) -> None:
    result = runner.invoke(
        main, ["product", "import", str(SELLER), "--format", "odcs", "--out", str(repo)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote products/seller/seller_payments.yaml" in result.stdout
    assert "wrote schemas/seller/Tbl.avsc" in result.stdout
    assert "note: outputPort.partitions: 3 (the policy's default)" in result.stderr
    assert "note: schema[0].quality[0]: the rowCount check" in result.stderr
    descriptor = repo / "products" / "seller" / "seller_payments.yaml"
    text = descriptor.read_text()
    assert text.startswith("# seller.seller_payments, imported from seller_payments.odcs.yaml")
    assert "- rule: range\n  field: pmt_amount\n  min: 0\n" in text  # as a person writes it
    loaded = load_product(descriptor, root=repo)
    assert loaded.product.output_port.key == "rcvr_id"
    lint = runner.invoke(main, ["product", "lint", str(repo), "--output", "json"])
    assert lint.exit_code == 0, lint.output
    assert json.loads(lint.stdout) == []


def test_export_then_import_gives_the_same_products(runner: CliRunner, repo: Path) -> None:
    """A source-aligned product and the aggregate made from it, exported by the CLI and
    imported into an empty repository (every product's round trip: tests/catalog)."""
    wanted = {"player.play_events.v1", "player.hourly_play_sessions.v1"}
    originals = {
        item.product.ref.topic: item
        for item in load_products(REPO)
        if item.product.ref.topic in wanted
    }
    assert set(originals) == wanted
    # Inputs first: lint checks that an aggregate's inputs exist.
    for topic in sorted(originals, key=lambda name: bool(originals[name].product.input_ports)):
        exported = runner.invoke(
            main, ["product", "export", topic, "--format", "odcs", "--root", str(REPO)]
        )
        assert exported.exit_code == 0, exported.output
        contract = repo / f"{topic}.odcs.yaml"
        contract.write_text(exported.stdout)
        imported = _import(runner, repo, str(contract), "--output", "json")
        assert json.loads(imported.stdout)["notes"] == []
        if originals[topic].product.kind != "aggregate":
            assert imported.exit_code == 0, imported.output
            continue
        # A contract carries no code: lint asks for it, and the team brings its own.
        assert imported.exit_code == 1
        assert "GOV016-derived-code" in imported.stderr
        code = originals[topic].path.with_suffix(".py")
        shutil.copy(code, repo / code.relative_to(REPO))
    for item in load_products(repo):
        original = originals[item.product.ref.topic]
        assert_equivalent(item.product, original.product)
        assert item.schema.canonical == original.schema.canonical
        assert item.schema_path.name == original.schema_path.name
    lint = runner.invoke(main, ["product", "lint", str(repo), "--output", "json"])
    assert lint.exit_code == 0, lint.output
    assert [v for v in json.loads(lint.stdout) if v["severity"] == "error"] == []


def test_an_invalid_contract_exits_1_naming_the_json_path(
    runner: CliRunner, repo: Path, tmp_path: Path
) -> None:
    contract = yaml.safe_load(SELLER.read_text())
    contract["schema"][0]["properties"][1]["logicalType"] = "text"
    del contract["status"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(contract))
    result = _import(runner, repo, str(bad))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "is not a valid ODCS v3.1.0 document: $: 'status' is a required property" in (
        result.stderr
    )
    assert "(and 1 more problem(s))" in result.stderr
    assert not (repo / "products").exists()


def test_not_a_contract_and_existing_files(runner: CliRunner, repo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: [v3.1.0\n")
    result = _import(runner, repo, str(broken))
    assert result.exit_code == 1
    assert "is not YAML or JSON" in result.stderr
    assert _import(runner, repo, str(SELLER)).exit_code == 0
    again = _import(runner, repo, str(SELLER))
    assert again.exit_code == 1
    assert "would overwrite schemas/seller/Tbl.avsc" in again.stderr
    assert _import(runner, repo, str(SELLER), "--force").exit_code == 0
    other = _import(runner, repo, str(SELLER), "--domain", "payments", "--name", "receipts")
    assert other.exit_code == 0, other.output
    assert (repo / "products" / "payments" / "receipts.yaml").is_file()


def test_import_needs_a_format(runner: CliRunner) -> None:
    result = runner.invoke(main, ["product", "import", str(SELLER)])
    assert result.exit_code == 2
    assert "--format" in result.stderr
