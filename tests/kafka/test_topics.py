"""Creating topics: an existing topic is not an error, a topic still being deleted is waited for."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.kafka.topics import create_topic


class Admin:
    """Answers ``create_topics`` from a script of errors; lists the topics it is told to."""

    def __init__(self, errors: list[int | None], listed: list[set[str]]) -> None:
        self.errors, self.listed, self.creates = errors, listed, 0

    def create_topics(self, new: list[Any]) -> dict[str, Future[None]]:
        self.creates += 1
        done: Future[None] = Future()
        code = self.errors.pop(0)
        if code is None:
            done.set_result(None)
        else:
            done.set_exception(KafkaException(KafkaError(code)))
        return {new[0].topic: done}

    def list_topics(self, timeout: float) -> Any:
        names = self.listed.pop(0)
        return SimpleNamespace(topics={n: SimpleNamespace(error=None) for n in names})


def test_a_topic_that_exists_is_not_created_again() -> None:
    admin = Admin([KafkaError.TOPIC_ALREADY_EXISTS], [{"t"}])
    assert create_topic(admin, "t") is False  # type: ignore[arg-type]
    assert admin.creates == 1


def test_a_topic_still_being_deleted_is_created_once_it_is_gone() -> None:
    """Kafka says "already exists" for a topic it is still deleting, although its metadata no
    longer lists it: taking that for "exists" left no topic once the deletion finished."""
    admin = Admin(
        [KafkaError.TOPIC_ALREADY_EXISTS, KafkaError.TOPIC_ALREADY_EXISTS, None], [set(), set()]
    )
    assert create_topic(admin, "t") is True  # type: ignore[arg-type]
    assert admin.creates == 3


def test_other_refusals_are_raised() -> None:
    admin = Admin([KafkaError.TOPIC_AUTHORIZATION_FAILED], [])
    with pytest.raises(KafkaException):
        create_topic(admin, "t")  # type: ignore[arg-type]
