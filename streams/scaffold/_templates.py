"""The Python files ``mesh product new`` writes: an aggregate's code and the product's test.

Both are plain templates filled with names and a Python literal; they pass the repository's
ruff configuration as written (``tests/scaffold`` checks that), so a new product starts clean.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from streams.naming import ProductRef

__all__ = ["aggregate_code", "literal", "product_test"]

_INDENT = "    "


def literal(value: Any, depth: int = 0) -> str:
    """``value`` as Python source, one item per line (as ``ruff format`` keeps it)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # double quotes, as ruff format wants
    inner = _INDENT * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {literal(v, depth + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + _INDENT * depth + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{inner}{literal(v, depth + 1)}," for v in value]
        return "[\n" + "\n".join(items) + "\n" + _INDENT * depth + "]"
    raise TypeError(f"no Python literal for {type(value).__name__}")


def class_name(name: str) -> str:
    """``hourly_plays`` -> ``HourlyPlays``."""
    return "".join(part.capitalize() for part in name.split("_"))


_CODE = '''"""{id}: TODO say what one record of this derived product holds.

{about}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from streams.agents.definition import DerivedProduct, InputPort, Tumbling, Window
from streams.serialization.plain import event_time_ms

# The accumulator is plain data (agents checkpoint it): [events, latest event time in ms].
_EVENTS, _LATEST = range(2)


class {cls}:
    """Count one key's events in one window."""

    def init(self) -> list[Any]:
        """No events yet."""
        return [0, None]

    def add(self, acc: list[Any], event: Mapping[str, Any]) -> list[Any]:
        """Count one event."""
        acc[_EVENTS] += 1
        at = event_time_ms(event["{event_time}"])
        if acc[_LATEST] is None or at > acc[_LATEST]:
            acc[_LATEST] = at
        return acc

    def merge(self, a: list[Any], b: list[Any]) -> list[Any]:
        """Both windows' events (lets the same code run on session windows)."""
        a[_EVENTS] += b[_EVENTS]
        if a[_LATEST] is None or (b[_LATEST] is not None and b[_LATEST] > a[_LATEST]):
            a[_LATEST] = b[_LATEST]
        return a

    def result(self, acc: list[Any], key: str, window: Window) -> dict[str, Any]:
        """The output record (timestamps in epoch milliseconds); agents set final."""
        return {{
            "window_start": window.start_ms,
            "window_end": window.end_ms,
            "event_time": acc[_LATEST],
            "{key}": key,
            "events": acc[_EVENTS],
            "final": False,
        }}


product = DerivedProduct(
    product="{id}",
    version=1,
    inputs=({ports},),
    key="{key}",
    window=Tumbling(timedelta(seconds={window})),
    allowed_lateness=timedelta(minutes=10),
    aggregation={cls}(),
{event_time_arg})
'''


def aggregate_code(
    ref: ProductRef,
    *,
    inputs: list[ProductRef],
    key: str,
    event_time: str,
    window_s: int,
) -> str:
    """``products/<domain>/<name>.py`` of a new aggregate: count per key and window."""
    ports = ", ".join(f'InputPort("{item.id}", {item.major})' for item in inputs)
    about = (
        f"Written by ``mesh product new``: counts the events of "
        f"{', '.join(item.topic for item in inputs)} per ``{key}`` and hour of event time. "
        "Replace the aggregation with the product's own; ``mesh product lint`` checks it "
        f"against {ref.name}.yaml, ``mesh agent run {ref.id}`` runs it and "
        f"``mesh replay {ref.id}`` replays it."
    )
    return _CODE.format(
        about=textwrap.fill(about, width=96, break_on_hyphens=False, break_long_words=False),
        id=ref.id,
        cls=class_name(ref.name),
        key=key,
        event_time=event_time,
        ports=ports,
        window=window_s,
        event_time_arg=(f'    event_time="{event_time}",\n' if event_time != "event_time" else ""),
    )


_TEST_HEAD = '''"""{id}: its descriptor is lint-clean and its records fit its schema and model.

Written by ``mesh product new``; extend it as the product grows.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
{separator}{imports}

ROOT = Path(__file__).parents[{depth}]
DESCRIPTOR = ROOT / "products" / "{domain}" / "{name}.yaml"
SCHEMA = ROOT / "schemas" / "{domain}" / "{record}.avsc"
EXAMPLE: dict[str, Any] = {example}


def _round_trip(datum: dict[str, Any]) -> dict[str, Any]:
    schema = fastavro.parse_schema(json.loads(SCHEMA.read_text(encoding="utf-8")))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, datum)
    buffer.seek(0)
    decoded: dict[str, Any] = fastavro.schemaless_reader(buffer, schema, schema)
    return decoded


def test_the_descriptor_has_no_lint_errors() -> None:
    errors = [v for v in lint(DESCRIPTOR) if v.severity == "error"]
    assert errors == []


def test_an_example_round_trips_through_the_model_and_avro() -> None:
    event = {record}.model_validate(EXAMPLE)
    decoded = _round_trip(event.model_dump(mode="python"))
    assert {record}.model_validate(decoded) == event
'''

_TEST_AGGREGATE = """

def test_the_code_agrees_with_the_descriptor() -> None:
    assert lint_code(DESCRIPTOR) == []


def test_two_events_in_one_window_count_two() -> None:
    aggregation = product.aggregation
    start = {start}
    acc = aggregation.init()
    for minute in (1, 2):
        event = {{"{key}": EXAMPLE["{key}"], "{event_time}": start + minute * 60_000}}
        acc = aggregation.add(acc, event)
    window = Window(start, start + {window_ms})
    record = aggregation.result(acc, str(EXAMPLE["{key}"]), window)
    assert record["events"] == 2
    assert record["event_time"] == start + 2 * 60_000
    {record}.model_validate(record)
"""


def product_test(
    ref: ProductRef,
    *,
    record: str,
    example: dict[str, Any],
    depth: int,
    aggregate: dict[str, Any] | None = None,
    streams_first_party: bool = False,
) -> str:
    """The product's test module.

    Args:
        ref: The product.
        record: Its record (and generated model) name.
        example: One valid record, as JSON would give it.
        depth: How many folders the test sits below the repository root.
        aggregate: For an aggregate: ``key``, ``event_time`` and ``window_ms``.
        streams_first_party: Whether ``streams`` is the repository's own package (its source
            beside ``products``), which decides how isort groups the imports.
    """
    # Sorted by module and grouped as ruff's isort wants them: products is first-party, and
    # streams too in its own repository (a third-party package elsewhere).
    ours = {f"products.{ref.domain}.events": record}
    theirs = {"streams.governance": "lint"}
    if aggregate is not None:
        ours[f"products.{ref.domain}.{ref.name}"] = "product"
        theirs["streams.agents.definition"] = "Window"
        theirs["streams.agents.lint"] = "lint_code"
    groups = [{**ours, **theirs}] if streams_first_party else [theirs, ours]
    blocks = [
        "\n".join(f"from {module} import {item}" for module, item in sorted(group.items()))
        for group in groups
    ]
    text = _TEST_HEAD.format(
        id=ref.id,
        domain=ref.domain,
        name=ref.name,
        record=record,
        depth=depth,
        example=literal(example),
        imports="\n\n".join(blocks),
        separator="\n" if streams_first_party else "",
    )
    if aggregate is None:
        return text
    return text + _TEST_AGGREGATE.format(
        start=1_767_225_600_000,  # 2026-01-01T00:00:00Z, on the hour
        record=record,
        **aggregate,
    )
