"""The monitor follows the catalog: a product applied while it runs is picked up at the next
catalog read, a retired one is dropped and its observations are tombstoned (README,
"Guarantees")."""

from __future__ import annotations

import uuid

from streams.config import Settings
from streams.guarantees import observations
from streams.guarantees.runner import Monitor
from streams.guarantees.watched import MonitorOptions
from tests.guarantees._products import publish
from tests.guarantees.test_monitor import SCHEMA, descriptor


def test_applied_products_are_picked_up_and_retired_ones_dropped(settings: Settings) -> None:
    first, second = (descriptor(f"t{uuid.uuid4().hex[:10]}") for _ in range(2))
    publish(settings, first, SCHEMA)
    suffix = uuid.uuid4().hex[:8]
    options = MonitorOptions(
        window_s=60,
        publish_every_s=3600,  # only when asked
        catalog_every_s=3600,  # refreshed by hand below
        only=frozenset({first.topic, second.topic}),
        state_topic=f"_mesh.test.state.{suffix}",
        observations_topic=f"_mesh.test.observations.{suffix}",
        alerts_topic=f"_mesh.test.alerts.{suffix}",
    )

    def published() -> set[str]:
        found = observations(settings=settings, topic=options.observations_topic)
        return {o.topic for o in found}

    monitor = Monitor(settings=settings, options=options)
    try:
        monitor.start()
        assert monitor.products == [first.topic]
        monitor.publish()
        assert published() == {first.topic}

        publish(settings, second, SCHEMA)  # applied while the monitor runs
        monitor.refresh()
        assert monitor.products == sorted([first.topic, second.topic])
        monitor.publish()
        assert published() == {first.topic, second.topic}

        publish(settings, first.model_copy(update={"status": "retired"}), SCHEMA)
        monitor.refresh()
        assert monitor.products == [second.topic]
        monitor.publish()
        # The retired product's observations were tombstoned: readers no longer list them.
        assert published() == {second.topic}
    finally:
        monitor.close()
