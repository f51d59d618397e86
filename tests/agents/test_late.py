"""LateRecords: the first late record of a topic says where they go and how to read them."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from streams.agents.late import LateRecords
from streams.cli import main
from tests.helpers.kafka import Product, play


def test_the_first_late_record_names_its_topic_and_the_tail_command(
    product: Product, caplog: pytest.LogCaptureFixture
) -> None:
    where = [
        "--bootstrap-servers",
        product.bootstrap,
        "--registry-url",
        product.settings.registry.url,
    ]
    lines = "".join(json.dumps(play(n)) + "\n" for n in range(2))
    assert CliRunner().invoke(main, ["produce", product.ref.id, *where], input=lines).exit_code == 0
    first, second = product.read_raw()
    late = LateRecords(settings=product.settings, product="player.hourly_play_sessions.v1")
    with caplog.at_level(logging.INFO, logger="streams.agents.late"):
        late.send(first)
        late.send(second)
        late.close()
    hints = [r.getMessage() for r in caplog.records if "mesh tail" in r.getMessage()]
    assert hints == [
        f"player.hourly_play_sessions.v1: late events of {product.ref.topic} go to "
        f"{product.ref.topic}.late; read them with `mesh tail {product.ref.topic} --late`"
    ]
