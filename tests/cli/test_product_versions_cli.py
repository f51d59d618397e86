"""Which major version a command uses: a bare product name is the latest active one everywhere.

``mesh product show``, ``mesh produce`` and ``mesh tail`` on the test broker, with a product
published at v1 (deprecated) and v2 (active); and a retired product that refuses events.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import Schema

from streams.catalog import Catalog, CatalogStore
from streams.cli import main
from streams.errors import ConfigError
from streams.kafka import Producer
from streams.naming import ProductRef
from tests.catalog._entries import descriptor, entry
from tests.helpers.kafka import PLAY_V2, Product, create_topic, flags, play


@pytest.fixture
def v2(product: Product) -> ProductRef:
    """``product`` at v1 (deprecated) and v2 (active), both with a topic and a schema."""
    dom = product.ref.domain
    ref = ProductRef(dom, product.ref.name, 2)
    create_topic(product.bootstrap, ref.topic)
    product.registry.register_schema(ref.subject, Schema(json.dumps(PLAY_V2), "AVRO"))
    note = {"note": "v2 adds country", "replacedBy": ref.topic}
    with CatalogStore(settings=product.settings) as store:
        store.publish(entry(descriptor(dom, status="deprecated", deprecation=note)))
        store.publish(entry(descriptor(dom, version=2)))
    return ref


def test_produce_sends_a_bare_name_to_the_latest_active_version_keyed(
    product: Product, v2: ProductRef
) -> None:
    runner = CliRunner()
    sent = runner.invoke(
        main, ["produce", v2.id, *flags(product)], input=json.dumps(play(1)) + "\n"
    )
    assert sent.exit_code == 0, sent.output
    assert f"sent 1 event to {v2.topic}" in sent.stderr
    assert [m.key() for m in product.read_raw(v2.topic)] == [b"user-1"]  # the descriptor's key
    assert product.read_raw() == []
    old = runner.invoke(
        main,
        ["produce", v2.id, "--version", "1", *flags(product)],
        input=json.dumps(play(2)) + "\n",
    )
    assert old.exit_code == 0, old.output
    assert f"sent 1 event to {product.ref.topic}" in old.stderr
    assert [m.key() for m in product.read_raw()] == [b"user-2"]


def test_tail_reads_the_latest_active_version_and_names_it(
    product: Product, v2: ProductRef
) -> None:
    runner = CliRunner()
    sent = runner.invoke(
        main, ["produce", v2.topic, *flags(product)], input=json.dumps(play(3)) + "\n"
    )
    assert sent.exit_code == 0, sent.output
    args = ["tail", v2.id, "--from-beginning", "--max", "1", "--idle-timeout", "10"]
    tailed = runner.invoke(main, [*args, *flags(product)])
    assert tailed.exit_code == 0, tailed.output
    assert f"reading {v2.topic}" in tailed.stderr
    assert [json.loads(line)["user_id"] for line in tailed.stdout.splitlines()] == ["user-3"]


def test_a_version_that_is_not_published_is_refused(product: Product, v2: ProductRef) -> None:
    result = CliRunner().invoke(
        main, ["produce", v2.id, "--version", "7", *flags(product)], input="{}\n"
    )
    assert result.exit_code == 1
    assert "has no version 7" in result.stderr
    assert "v1 (deprecated), v2 (active)" in result.stderr


def test_show_takes_a_version(product: Product, v2: ProductRef) -> None:
    boot = ["--bootstrap-servers", product.settings.kafka.bootstrap_servers]
    runner = CliRunner(env={"STREAMS_REGISTRY__URL": product.settings.registry.url})
    latest = runner.invoke(main, ["product", "show", v2.id, *boot, "--output", "json"])
    assert latest.exit_code == 0, latest.output
    assert json.loads(latest.stdout)["key"] == v2.topic
    old = runner.invoke(
        main, ["product", "show", v2.id, "--version", "1", *boot, "--output", "json"]
    )
    assert old.exit_code == 0, old.output
    assert json.loads(old.stdout)["key"] == product.ref.topic


def test_a_retired_product_refuses_events(product: Product) -> None:
    dom = product.ref.domain
    retired = {"note": "replaced by v2", "replacedBy": f"{dom}.play_events.v2"}
    with CatalogStore(settings=product.settings) as store:
        store.publish(entry(descriptor(dom, status="retired", deprecation=retired)))
    result = CliRunner().invoke(
        main, ["produce", product.ref.topic, *flags(product)], input=json.dumps(play(1)) + "\n"
    )
    assert result.exit_code == 1
    assert f"product {product.ref.topic} is retired" in result.stderr
    assert f"emit to {dom}.play_events.v2 instead" in result.stderr
    with CatalogStore(settings=product.settings) as store:
        catalog = Catalog.from_store(store)
    with (
        Producer(settings=product.settings, directory=catalog) as producer,
        pytest.raises(ConfigError, match="is retired"),
    ):
        producer.emit(product.ref, play(2))
    assert product.read_raw() == []
