"""``mesh product import --format odcs`` through click's runner: files written, then linted."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from streams.catalog import load_product, load_products
from streams.cli import main
from streams.config import Settings
from tests.catalog._contracts import SELLER, assert_equivalent
from tests.catalog._repo import REPO


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
        assert "define 'product = DerivedProduct(" in imported.stderr  # and how to fix it
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
    assert "\n  schema[0].properties[1].logicalType: 'text' is not one of" in result.stderr
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


def test_an_imported_contract_applies_and_takes_events(
    runner: CliRunner, repo: Path, settings: Settings
) -> None:
    """The hand-written contract's product on a real platform: topic, schema, events."""
    domain = f"t{uuid.uuid4().hex[:10]}"
    made = _import(runner, repo, str(SELLER), "--domain", domain)
    assert made.exit_code == 0, made.output
    connect = [
        "--bootstrap-servers",
        settings.kafka.bootstrap_servers,
        "--registry-url",
        settings.registry.url,
    ]
    topic = f"{domain}.seller_payments.v1"
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    try:
        applied = runner.invoke(main, ["product", "apply", str(repo), *connect])
        assert applied.exit_code == 0, applied.output
        with SchemaRegistryClient(settings.registry.client_conf()) as registry:
            registered = registry.get_latest_version(f"{topic}-value").schema.schema_str
        written = load_product(repo / "products" / domain / "seller_payments.yaml", root=repo)
        assert json.loads(registered)["fields"] == json.loads(written.schema.canonical)["fields"]
        event = {
            "txn_ref_dt": 20_485,  # days, as `mesh produce` takes a date
            "rcvr_id": "seller-42",
            "rcvr_cntry_code": "DE",
            "pmt_amount": 12.5,
            "pmt_count": 1,
            "created_ts": 1_767_225_600_000,
        }
        sent = runner.invoke(
            main, ["produce", f"{domain}.seller_payments", *connect], input=json.dumps(event)
        )
        assert sent.exit_code == 0, sent.output
        assert f"sent 1 event to {topic}" in sent.stderr
    finally:
        made_topics = [
            name for name in admin.list_topics(timeout=10).topics if name.startswith(topic)
        ]
        for future in admin.delete_topics(made_topics).values() if made_topics else ():
            future.result(10)
