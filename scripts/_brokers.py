"""The ``--broker tansu|kafka|both`` option of the benchmarks, and the side-by-side summary.

Each broker kind gets its own embedded platform (``streams.local.EmbeddedPlatform``, free
ports, a temporary state dir), started and stopped in turn so the two never share the CPU.
"""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from streams.config import Settings
from streams.local import EmbeddedPlatform, PlatformInfo

CHOICES = {"tansu": ("tansu",), "kafka": ("kafka",), "both": ("tansu", "kafka")}


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        choices=sorted(CHOICES),
        default="tansu",
        help="broker to measure on: the embedded Tansu (default), Apache Kafka (KRaft, needs "
        "Java 17+ and `mesh kafka fetch`), or both, one after the other",
    )


@contextmanager
def platform(kind: str) -> Iterator[PlatformInfo]:
    """A platform on ``kind`` (Kafka from the usual kafka_home / jar cache settings), stopped by
    PID when the benchmark ends, fails, or is stopped by SIGTERM (``kill``, ``timeout``)."""
    with _stopped_by_sigterm(), tempfile.TemporaryDirectory() as tmp:
        # No authentication: the benchmarks' raw clients carry no credentials, and the figures
        # stay comparable with earlier runs (SCRAM costs one handshake per connection).
        settings = Settings().local.model_copy(update={"broker": kind, "auth": False})
        with EmbeddedPlatform(state_dir=tmp, settings=settings, free_ports=True) as info:
            yield info


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM raises SystemExit inside the block, so the platform's exit stops its processes
    (Python's default for SIGTERM ends the process at once and left the broker running)."""

    def _terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(
    choice: str, measure: Callable[[str], dict[str, Any]], *, title: str
) -> dict[str, dict[str, Any]]:
    """``measure(kind)`` for each broker of ``choice``; prints them side by side when several,
    then one JSON line: the figures of the one broker, or ``{kind: figures}`` for both."""
    results = {kind: measure(kind) for kind in CHOICES[choice]}
    if len(results) > 1:
        table = Table(title=f"{title}: side by side")
        table.add_column("figure")
        for kind in results:
            table.add_column(kind, justify="right")
        keys = [key for key in next(iter(results.values())) if key != "broker"]
        for key in keys:
            table.add_row(key, *(_cell(figures.get(key)) for figures in results.values()))
        Console(stderr=True).print(table)
    # One broker: its figures themselves (the keys the issues name at the top level).
    print(json.dumps(results if len(results) > 1 else next(iter(results.values()))))
    return results


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
