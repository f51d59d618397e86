"""Benchmark: the encoder alone, in process (no broker, so far less noisy than ``events``).

Encodes 200,000 PlayEvents (from ``bench_events.make_events``) three ways, best of 5 rounds:

- raw: fastavro ``schemaless_writer`` into a buffer that starts with the 5-byte header (the
  same work ``scripts/bench events``'s raw producer does per event);
- write: our encoder's fastavro write alone (``_fastavro``), without validation;
- ours: ``AvroEncoder`` (the compiled validator's check, then the write), what ``emit`` calls.

``ours / raw`` bounds what validation costs ``emit``: the Kafka produce and the headers come on
top of both sides in ``scripts/bench events``.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro

sys.path.insert(0, str(Path(__file__).parent))
from bench_events import ROOT, make_events

from streams.serialization import AvroEncoder, header

N = 200_000


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return N / (time.perf_counter() - start)


def main() -> None:
    text = (ROOT / "schemas/player/PlayEvent.avsc").read_text()
    parsed = fastavro.parse_schema(json.loads(text))
    events = make_events(N)
    prefix = header(1)
    encoder = AvroEncoder(text, schema_id=1)
    write = encoder._write  # the write without the check, for comparison

    def raw() -> None:
        for event in events:
            buffer = io.BytesIO()
            buffer.write(prefix)
            fastavro.schemaless_writer(buffer, parsed, event)
            buffer.getvalue()

    def write_only() -> None:
        for event in events:
            write(event)

    def ours() -> None:
        for event in events:
            encoder(event)

    best: dict[str, float] = {}
    for _ in range(5):
        for name, run in (("raw", raw), ("write", write_only), ("ours", ours)):
            best[name] = max(best.get(name, 0.0), timed(run))
    ratio = best["ours"] / best["raw"]
    cost = 1e9 / best["ours"] - 1e9 / best["write"]
    print(
        f"encode {N:,} PlayEvents, best of 5: raw {best['raw']:,.0f}/s, "
        f"write {best['write']:,.0f}/s, ours {best['ours']:,.0f}/s = {ratio:.2f}x raw; "
        f"validation costs {cost:.0f} ns per event",
        file=sys.stderr,
    )
    result: dict[str, Any] = {
        "events": N,
        "raw_encode_per_s": round(best["raw"]),
        "write_per_s": round(best["write"]),
        "encode_per_s": round(best["ours"]),
        "encode_ratio": round(best["ours"] / best["raw"], 3),
        "validation_ns": round(1e9 / best["ours"] - 1e9 / best["write"]),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
