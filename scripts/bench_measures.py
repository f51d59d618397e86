"""Benchmark: the guarantees measures alone against decoding, in process (no broker).

Decodes 200,000 framed PlayEvents with our ``AvroDecoder`` (the decode-only baseline), then
feeds the decoded values to ``ProductMeasures.observe_many`` for ``player.play_events`` (every
measure on: latency, on time, newest per partition, duplicates on ``event_id``, three quality
rules, schema ids), best of 5 rounds each. The issue's target is a monitor (decode + measures)
at >= 0.5x of decode only, i.e. measures costing at most as much as decoding.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_events import ROOT, make_events

from streams.catalog import load_product
from streams.guarantees.measures import ProductMeasures
from streams.serialization import AvroDecoder, AvroEncoder

N = 200_000


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    product = load_product(ROOT / "products/player/play_events.yaml", root=ROOT).product
    text = (ROOT / "schemas/player/PlayEvent.avsc").read_text()
    encode, decode = AvroEncoder(text, schema_id=1), AvroDecoder(text, schema_id=1)
    events = make_events(N)
    framed = [encode(event) for event in events]
    values = [decode(data) for data in framed]
    # Append times: 20 ms after the event time, 12 partitions, over ~N ms (a few minutes).
    records = [
        (i % 12, i // 12, events[i]["event_time"] + 20, value, 1) for i, value in enumerate(values)
    ]

    def decode_only() -> None:
        for data in framed:
            decode(data)

    def measure() -> None:
        ProductMeasures(product).observe_many(records)

    best = {"decode": float("inf"), "measure": float("inf")}
    for _ in range(5):
        best["decode"] = min(best["decode"], timed(decode_only))
        best["measure"] = min(best["measure"], timed(measure))
    decode_ns, measure_ns = best["decode"] / N * 1e9, best["measure"] / N * 1e9
    ratio = decode_ns / (decode_ns + measure_ns)
    print(
        f"{N:,} PlayEvents, best of 5: decode {decode_ns:,.0f} ns/event, measures "
        f"{measure_ns:,.0f} ns/event: decode + measures = {ratio:.2f}x decode only",
        file=sys.stderr,
    )
    result = {
        "events": N,
        "decode_ns": round(decode_ns),
        "measure_ns": round(measure_ns),
        "decode_per_s": round(1e9 / decode_ns),
        "monitor_per_s": round(1e9 / (decode_ns + measure_ns)),
        "monitor_ratio": round(ratio, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
