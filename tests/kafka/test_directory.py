"""Consumer with a product directory: topic from the directory, warn deprecated, refuse others."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Producer as RawProducer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.catalog import Catalog
from streams.config import Settings
from streams.errors import ConfigError, ProductDeprecatedWarning
from streams.kafka import Consumer
from streams.kafka.directory import ProductDirectory, ProductStatus, VersionPicker
from streams.naming import ProductRef
from tests.helpers.kafka import PLAY_V1, Product, play


class FakeDirectory:
    """Knows the products it was given; records what it was asked."""

    def __init__(self, known: dict[str, ProductStatus]) -> None:
        self.known = known
        self.asked: list[ProductRef] = []

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        self.asked.append(ref)
        return self.known.get(ref.topic)


def group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


def test_fake_is_a_directory() -> None:
    directory: ProductDirectory = FakeDirectory({})
    assert directory.resolve(ProductRef("a", "b")) is None


def test_deprecated_product_warns_with_note_and_successor(settings: Settings) -> None:
    directory = FakeDirectory(
        {
            "player.play_events.v1": ProductStatus(
                "player.play_events.v1",
                "deprecated",
                note="v2 adds bitrate",
                replaced_by="player.play_events.v2",
            )
        }
    )
    with pytest.warns(ProductDeprecatedWarning) as caught:
        consumer = Consumer(
            "player.play_events", group_id=group(), settings=settings, directory=directory
        )
    consumer.close()
    (warning,) = caught
    message = str(warning.message)
    assert "player.play_events.v1 is deprecated: v2 adds bitrate" in message
    assert "move to player.play_events.v2" in message
    assert warning.filename == __file__  # points at the code that created the consumer
    assert directory.asked == [ProductRef("player", "play_events", 1)]


def test_deprecated_without_note_still_says_where_to_look(settings: Settings) -> None:
    directory = FakeDirectory({"a.b.v1": ProductStatus("a.b.v1", "deprecated")})
    with pytest.warns(ProductDeprecatedWarning, match="mesh product show a.b"):
        Consumer("a.b", group_id=group(), settings=settings, directory=directory).close()


def test_retired_product_raises(settings: Settings) -> None:
    directory = FakeDirectory(
        {"a.b.v1": ProductStatus("a.b.v1", "retired", note="gone", replaced_by="a.b.v2")}
    )
    with pytest.raises(ConfigError, match=r"a\.b\.v1 is retired.*gone.*read a\.b\.v2 instead"):
        Consumer("a.b", group_id=group(), settings=settings, directory=directory)


def test_unknown_product_raises_with_how_to_publish(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="not in the catalog") as caught:
        Consumer("a.b.v2", group_id=group(), settings=settings, directory=FakeDirectory({}))
    assert "mesh product apply products/a/b.yaml" in str(caught.value)
    assert "_mesh.products" in str(caught.value)


def test_without_directory_topics_come_from_naming(settings: Settings) -> None:
    with Consumer(["a.b", "c.d.v3"], group_id=group(), settings=settings) as consumer:
        assert consumer.topics == ["a.b.v1", "c.d.v3"]


def test_reads_the_topic_the_directory_names(product: Product) -> None:
    """The directory maps an alias product onto the real topic; events arrive from there."""
    serialize = AvroSerializer(product.registry, json.dumps(PLAY_V1))
    ctx = SerializationContext(product.ref.topic, MessageField.VALUE)
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce(product.ref.topic, value=serialize(play(1), ctx))
    raw.flush(10)
    alias = ProductRef(product.ref.domain, "alias_events")
    directory = FakeDirectory({alias.topic: ProductStatus(product.ref.topic, "active")})

    with Consumer(
        alias,
        group_id=None,
        settings=product.settings,
        from_beginning=True,
        directory=directory,
    ) as consumer:
        assert consumer.topics == [product.ref.topic]
        events = []
        for _ in range(40):
            events += consumer.consume(10, timeout=0.5)
            if events:
                break
    assert [event.value["user_id"] for event in events] == ["user-1"]
    assert events[0].topic == product.ref.topic


class Picker(FakeDirectory):
    """A directory that knows which version a bare name means, as the catalog does."""

    def pick(self, name: str, *, version: int | None = None) -> ProductRef:
        domain, product = name.split(".")
        return ProductRef(domain, product, 3)


def test_a_bare_name_reads_the_version_the_directory_picks(settings: Settings) -> None:
    directory = Picker(
        {"a.b.v3": ProductStatus("a.b.v3", "active"), "a.b.v1": ProductStatus("a.b.v1", "active")}
    )
    consumer = Consumer(["a.b", "a.b.v1"], group_id=group(), settings=settings, directory=directory)
    consumer.close()
    assert consumer.topics == ["a.b.v3", "a.b.v1"]  # a named version stays that version


def test_without_a_picker_a_bare_name_is_version_1(settings: Settings) -> None:
    directory = FakeDirectory({"a.b.v1": ProductStatus("a.b.v1", "active")})
    consumer = Consumer("a.b", group_id=group(), settings=settings, directory=directory)
    consumer.close()
    assert consumer.topics == ["a.b.v1"]


def test_the_catalog_picks_versions() -> None:
    assert isinstance(Catalog({}), VersionPicker)
