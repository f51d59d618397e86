"""At least once: commit() commits exactly the events handed out, even mid-batch, and a crash
(kill -9) loses nothing; a consumer that stops mid-batch or hits an error resumes where it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams.config import RegistrySettings
from streams.errors import ConfigError, DeliveryError, RegistryUnavailableError
from streams.kafka import Consumer, Producer, SchemaSource
from tests.helpers.kafka import BIG_RECORDS, Product, play, produce_huge

CHILD = textwrap.dedent(
    """
    import sys, time
    from streams.config import KafkaSettings, RegistrySettings, Settings
    from streams.kafka import Consumer

    bootstrap, registry, product, group, mode, stop_after = sys.argv[1:]
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap), registry=RegistrySettings(url=registry)
    )
    with Consumer(product, group_id=group, settings=settings, from_beginning=True) as consumer:
        for n, event in enumerate(consumer):             # the README's loop
            print(event.offset, flush=True)              # "processed"
            if mode == "each" or n == 0:
                consumer.commit()
            if n + 1 == int(stop_after):
                print("stopped", flush=True)
                time.sleep(600)                          # killed here with SIGKILL
    """
)


def emit(product: Product, count: int) -> None:
    with Producer(settings=product.settings) as producer:
        for n in range(count):
            producer.emit(product.ref.id, play(n))


def offsets(consumer: Consumer, expected: int, rounds: int = 60) -> list[int]:
    seen: list[int] = []
    for _ in range(rounds):
        seen += [event.offset for event in consumer.consume(100, timeout=0.5)]
        if len(seen) >= expected:
            break
    return seen


def run_and_kill(product: Product, group: str, mode: str, stop_after: int, tmp: Path) -> list[int]:
    """Run the README loop in a child process, kill -9 it after ``stop_after`` events."""
    script = tmp / "child.py"
    script.write_text(CHILD)
    args = [
        product.bootstrap,
        product.settings.registry.url,
        product.ref.id,
        group,
        mode,
        str(stop_after),
    ]
    root = str(Path(__file__).parents[2])  # the child imports this checkout's streams
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    handled: list[int] = []
    with subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, cwd=root, env=env
    ) as child:
        try:
            assert child.stdout is not None
            deadline = time.monotonic() + 60
            for line in child.stdout:
                if line.strip() == "stopped":
                    break
                handled.append(int(line))
                assert time.monotonic() < deadline, "the child consumer is too slow"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
    return handled


def test_commit_after_the_first_event_then_kill_9_reads_the_rest_again(
    product: Product, tmp_path: Path
) -> None:
    emit(product, 50)
    group = f"g-{uuid.uuid4().hex[:8]}"
    handled = run_and_kill(product, group, "first", stop_after=5, tmp=tmp_path)
    assert handled == [0, 1, 2, 3, 4]
    with Consumer(product.ref.id, group_id=group, settings=product.settings) as restarted:
        assert offsets(restarted, 49) == list(range(1, 50))  # only event 0 was committed


def test_the_readme_loop_killed_mid_batch_loses_nothing(product: Product, tmp_path: Path) -> None:
    emit(product, 60)
    group = f"g-{uuid.uuid4().hex[:8]}"
    handled = run_and_kill(product, group, "each", stop_after=17, tmp=tmp_path)
    assert handled == list(range(17))
    with Consumer(product.ref.id, group_id=group, settings=product.settings) as restarted:
        assert offsets(restarted, 43) == list(range(17, 60))


def test_leaving_the_loop_and_iterating_again_resumes_at_the_next_event(product: Product) -> None:
    emit(product, 20)
    with Consumer(
        product.ref.id, group_id=None, settings=product.settings, from_beginning=True
    ) as consumer:
        seen: list[int] = []
        for event in consumer:
            seen.append(event.offset)
            if len(seen) == 3:
                break
        for event in consumer:  # a new iterator: the rest of the first batch is not skipped
            seen.append(event.offset)
            if len(seen) == 20:
                break
        assert seen == list(range(20))


class FlakySource(SchemaSource):
    """The registry is down for the first lookups (a real closed port), then back."""

    def __init__(self, *, settings: RegistrySettings, down_url: str, failures: int) -> None:
        super().__init__(url=settings.url, conf=settings.client_conf())
        self.down = SchemaSource(url=down_url, client=_client_without_retries(down_url))
        self.failures = failures

    def writer(self, schema_id: int) -> Any:
        if self.failures:
            self.failures -= 1
            return self.down.writer(schema_id)
        return super().writer(schema_id)


def _client_without_retries(url: str) -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": url, "max.retries": 0})


def test_registry_outage_mid_batch_loses_no_event(product: Product, closed_url: str) -> None:
    emit(product, 5)
    source = FlakySource(settings=product.settings.registry, down_url=closed_url, failures=1)
    with Consumer(
        product.ref.id,
        group_id=None,
        settings=product.settings,
        from_beginning=True,
        schemas=source,
    ) as consumer:
        with pytest.raises(RegistryUnavailableError, match="mesh up") as caught:
            offsets(consumer, 5)
        assert f"the schema registry at {closed_url} is unreachable" in str(caught.value)
        assert "\n" not in str(caught.value)
        assert offsets(consumer, 5) == list(range(5))  # the failed batch is read again
        assert consumer.dead_letters.count == 0


def test_without_a_group_commit_is_refused_and_latest_means_new_events_only(
    product: Product,
) -> None:
    for _ in range(3):  # one batch each: the embedded broker's ListOffsets is wrong after
        emit(product, 1)  # multi-record batches (BROKER.md), and "the end" comes from it
    with Consumer(product.ref.id, group_id=None, settings=product.settings) as consumer:
        assert consumer.consume(10, timeout=0.5) == []  # assigned at the end: old events skipped
        emit(product, 2)
        assert offsets(consumer, 2) == [3, 4]
        with pytest.raises(ConfigError, match="group_id=None"):
            consumer.commit()


def test_without_a_group_a_missing_topic_is_named(product: Product) -> None:
    with pytest.raises(ConfigError, match=r"topic nothing\.here\.v1 does not exist"):
        Consumer("nothing.here", group_id=None, settings=product.settings)


@pytest.mark.topic_config(BIG_RECORDS)
def test_dead_letters_that_cannot_be_stored_are_not_committed_past(product: Product) -> None:
    """A dead letter Kafka refuses (larger than the producer's message.max.bytes) fails the
    commit; the offsets stay before the original, so it is read and dead-lettered again."""
    emit(product, 1)
    produce_huge(product)
    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, play(2))
    group = f"g-{uuid.uuid4().hex[:8]}"
    with Consumer(
        product.ref.id, group_id=group, settings=product.settings, from_beginning=True
    ) as consumer:
        assert offsets(consumer, 2) == [0, 2]
        with pytest.raises(DeliveryError, match="1 dead letters were not stored") as caught:
            consumer.commit()
        assert caught.value.failures[0][0] == f"{product.ref.topic}[0]@1"
        assert "too large" in caught.value.failures[0][1].lower()
        # Rewound to the huge message: it is read (and refused) again, then event 2 again.
        assert offsets(consumer, 1) == [2]
        assert consumer.dead_letters.count == 2
        with pytest.raises(DeliveryError):
            consumer.commit()
        consumer.commit()  # the failures were reported once; offsets stay before the original
    restarted = Consumer(
        product.ref.id, group_id=group, settings=product.settings, from_beginning=True
    )
    try:
        assert offsets(restarted, 1) == [2]
        assert restarted.dead_letters.count == 1  # the huge one came back
    finally:
        with pytest.raises(DeliveryError):  # close() stores dead letters too, and says it failed
            restarted.close()


@pytest.mark.topic_config(BIG_RECORDS)
def test_a_failed_commit_in_the_loop_never_commits_past_the_lost_dead_letter(
    product: Product,
) -> None:
    emit(product, 1)
    produce_huge(product)
    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref.id, play(2))
        producer.emit(product.ref.id, play(3))
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        product.ref.id, group_id=group, settings=product.settings, from_beginning=True
    )
    seen = []
    try:
        for event in consumer:
            seen.append(event.offset)
            if seen == [0, 2]:
                with pytest.raises(DeliveryError):
                    consumer.commit()  # the huge message's dead letter was refused
                consumer.commit()  # must stay before offset 1, not jump to 3
            if event.offset == 3:
                break
    finally:
        with pytest.raises(DeliveryError):
            consumer.close()
    assert seen == [0, 2, 2, 3]  # after the rewind, event 2 came again
    restarted = Consumer(product.ref.id, group_id=group, settings=product.settings)
    try:
        assert offsets(restarted, 2) == [2, 3]
        assert restarted.dead_letters.count == 1
    finally:
        with pytest.raises(DeliveryError):
            restarted.close()
