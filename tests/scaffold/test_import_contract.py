"""``import_contract`` on every repository product's contract, read from the standard's keys."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from streams.avro import iter_fields
from streams.catalog import export_odcs, load_products
from streams.governance import lint
from streams.scaffold import import_contract
from tests.catalog._contracts import assert_equivalent
from tests.catalog._repo import REPO


def test_every_product_from_its_properties_alone_lints_clean(tmp_path: Path) -> None:
    """Without the exact Avro schema (a tool that keeps only the standard's keys dropped it),
    every product still comes back as the same descriptor, with a schema of the same fields,
    docs and PII marks, and the repository lints without errors."""
    shutil.copy(REPO / "governance.yaml", tmp_path / "governance.yaml")
    originals = sorted(load_products(REPO), key=lambda item: bool(item.product.input_ports))
    for original in originals:
        contract = export_odcs(original.product, original.schema, bootstrap_servers="k:9092")
        table = contract["schema"][0]
        table["customProperties"] = [
            item for item in table["customProperties"] if item["property"] != "avroSchema"
        ]
        path = tmp_path / f"{original.product.topic}.odcs.yaml"
        path.write_text(yaml.safe_dump(contract))
        made = import_contract(tmp_path, path)
        assert made.notes == (), made.notes
        if original.product.kind == "aggregate":  # a contract carries no code
            shutil.copy(original.path.with_suffix(".py"), made.descriptor.with_suffix(".py"))
    imported = {item.product.topic: item for item in load_products(tmp_path)}
    assert len(imported) == len(originals)
    for original in originals:
        again = imported[original.product.topic]
        schema_file = f"schemas/{original.product.domain}/{original.schema_path.name}"
        assert again.product.output_port.schema_file == schema_file
        assert_equivalent(
            again.product,
            original.product.model_copy(
                update={
                    "output_port": original.product.output_port.model_copy(
                        update={"schema_file": schema_file}
                    )
                }
            ),
        )
        marks = [(f.path, f.doc, f.pii_mark) for f in iter_fields(original.schema, nested=False)]
        assert [
            (f.path, f.doc, f.pii_mark) for f in iter_fields(again.schema, nested=False)
        ] == marks
    errors = [item for item in lint(tmp_path) if item.severity == "error"]
    assert errors == []
