"""The live demo's simulators: four domains emitting through ``streams.kafka.Producer.emit``.

Each domain has its own producer (``Producer(domain=...)``: a domain writes only its own
products). One thread ticks every 100 ms and sends what is due at the rates below (plays by the
daily curve of the current hour), plus the defects on purpose:

- late plays (offline devices, hours old): ``player.play_events`` completeness and latency;
- duplicate plays and registrations (client retries): duplicates;
- invalid plays (``ms_played = -5``) from a *legacy producer* outside the library, since
  ``emit`` refuses an event that breaks the descriptor's rules: validity;
- an undecodable record now and then (a legacy JSON app): the agent dead-letters it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from _demo_company import Company, curve
from confluent_kafka import Producer as KafkaProducer

from streams.catalog import Catalog, CatalogStore
from streams.config import Settings
from streams.kafka import Producer
from streams.kafka.schemas import SchemaSource
from streams.naming import parse_product
from streams.serialization import AvroEncoder

PEAK_PLAYS_PER_S = 30.0
RATES = {  # events per second besides plays
    "listeners.registrations": 0.8,
    "artists.signings": 0.15,
    "artists.track_releases": 0.4,
    "playlists.generated_playlists": 1.0,
    "player.player_errors": 0.3,
}
LATE_SHARE = 0.01  # of plays: offline plays arriving hours late
DUPLICATE_SHARE = 0.015  # of plays: sent twice
INVALID_SHARE = 0.01  # of plays: ms_played = -5, from the legacy producer
TICK_S = 0.1
PLAYS = "player.play_events"
ERROR_CODES = ("NETWORK", "TIMEOUT", "DECODER", "TRACK_UNAVAILABLE", "REGION_RESTRICTED")


@dataclass
class Tally:
    """What the simulators sent: events per product and defects by kind."""

    sent: Counter[str] = field(default_factory=Counter)
    defects: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        with self.lock:
            return Counter(self.sent), Counter(self.defects)


class Due:
    """How many events of each kind are due at a rate, tick after tick: the fractions carry
    over, so a rate of 0.3/s gives exactly 3 in 10 s of ticks, not 0 (rounded per tick)."""

    def __init__(self) -> None:
        self._milli: Counter[str] = Counter()

    def count(self, kind: str, per_second: float, elapsed: float) -> int:
        """The ``kind`` events due after ``elapsed`` more seconds at ``per_second``."""
        self._milli[kind] += round(per_second * elapsed * 1000)
        due, self._milli[kind] = divmod(self._milli[kind], 1000)
        return due


class Legacy:
    """A producer outside the library (an old service): it writes the registered schema's
    Confluent wire format, or worse, but checks none of the descriptor's rules."""

    def __init__(self, settings: Settings) -> None:
        self.topic = parse_product(PLAYS).topic
        source = SchemaSource.from_settings(settings.registry)
        try:
            schema_id, schema = source.latest(parse_product(PLAYS).subject)
        finally:
            source.close()
        self.encode = AvroEncoder(schema, schema_id=schema_id, product=PLAYS)
        self.producer = KafkaProducer(settings.kafka.librdkafka())

    def invalid_play(self, event: dict[str, Any]) -> None:
        value = self.encode({**event, "ms_played": -5})
        self.producer.produce(self.topic, value, str(event["user_id"]).encode())

    def undecodable(self, user_id: str) -> None:
        self.producer.produce(self.topic, b'{"user_id": "not avro"}', user_id.encode())

    def close(self) -> None:
        self.producer.flush(10)


class Simulation:
    """The company's domains emitting, in a background thread until :meth:`stop`.

    Args:
        company: The company (its founding already sent).
        settings: The platform's client settings (as its admin).
        rare_every_s: The longest time between two defects of a kind: a third of the
            monitor's window, so every window has some of each.
    """

    def __init__(self, company: Company, settings: Settings, *, rare_every_s: float) -> None:
        self.company = company
        self._rare_per_s = 1 / rare_every_s
        self.tally = Tally()
        with CatalogStore(settings=settings) as store:
            # The descriptors say each product's key field: emit keys every event by it.
            catalog = Catalog(store.read())
        self._producers = {
            domain: Producer(settings=settings, domain=domain, directory=catalog)
            for domain in ("player", "listeners", "artists", "playlists")
        }
        self._legacy = Legacy(settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-company", daemon=True)
        self._due = Due()
        self.error: BaseException | None = None

    def emit(self, product: str, event: dict[str, Any]) -> None:
        self._producers[product.split(".", 1)[0]].emit(product, event)
        with self.tally.lock:
            self.tally.sent[product] += 1

    def send_all(self, events: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Send ``(product, event)`` pairs now (the founding, the past day) and flush."""
        count = 0
        for product, event in events:
            self.emit(product, event)
            count += 1
        self.flush()
        return count

    def flush(self) -> None:
        for producer in self._producers.values():
            producer.flush()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop sending, flush, and close every producer (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        for producer in self._producers.values():
            producer.close()
        self._producers.clear()
        self._legacy.close()

    def _run(self) -> None:
        last = time.monotonic()
        try:
            while not self._stop.wait(TICK_S):
                now = time.monotonic()
                self._tick(now - last)
                last = now
        except BaseException as exc:  # reported by the main thread, which checks `error`
            self.error = exc

    def _count(self, kind: str, per_second: float, elapsed: float) -> int:
        return self._due.count(kind, per_second, elapsed)

    def _tick(self, elapsed: float) -> None:
        company = self.company
        now_ms = int(time.time() * 1000)
        for product, rate in RATES.items():
            for _ in range(self._count(product, rate, elapsed)):
                event = self._event(product, now_ms)
                if event is not None:
                    self.emit(product, event)
        # Each defect in its share of the plays, and at least every `rare_every_s` whatever the
        # hour's rate: a quiet night hour has few plays, and every window must show each defect.
        rare = self._rare_per_s
        for _ in range(self._count("plays", PEAK_PLAYS_PER_S * curve(now_ms), elapsed)):
            draw = company.rng.random()
            if draw < LATE_SHARE:
                self._late(now_ms)
            elif draw < LATE_SHARE + INVALID_SHARE:
                self._invalid(now_ms)
            elif draw < LATE_SHARE + INVALID_SHARE + DUPLICATE_SHARE:
                self._duplicate(now_ms)
            else:
                self.emit(PLAYS, company.play(now_ms))
        for defect in (self._late, self._invalid, self._duplicate, self._undecodable):
            if self._count(defect.__name__, rare, elapsed):
                defect(now_ms)
        if self._count("duplicate registration", rare, elapsed):
            again = company.register(now_ms)
            self.emit("listeners.registrations", again)
            self.emit("listeners.registrations", again)
            self._defect("duplicate registrations")
        self.flush()
        self._legacy.producer.poll(0)

    def _late(self, now_ms: int) -> None:
        self.emit(PLAYS, self.company.late_play(now_ms))
        self._defect("late plays")

    def _invalid(self, now_ms: int) -> None:
        self._legacy.invalid_play(self.company.play(now_ms))
        self._defect("invalid plays (legacy producer)")

    def _duplicate(self, now_ms: int) -> None:
        play = self.company.play(now_ms)
        self.emit(PLAYS, play)
        self.emit(PLAYS, play)  # the client retried: same event_id
        self._defect("duplicate plays")

    def _undecodable(self, now_ms: int) -> None:
        self._legacy.undecodable(str(self.company.listeners[0].user_id))
        self._defect("undecodable records (legacy JSON app)")

    def _defect(self, kind: str) -> None:
        with self.tally.lock:
            self.tally.defects[kind] += 1

    def _event(self, product: str, now_ms: int) -> dict[str, Any] | None:
        company = self.company
        if product == "listeners.registrations":
            return company.register(now_ms)
        if product == "artists.signings":
            return company.sign(now_ms)
        if product == "artists.track_releases":
            return company.release(now_ms)
        if product == "playlists.generated_playlists":
            return company.playlist(now_ms)
        return self._error(now_ms)

    def _error(self, now_ms: int) -> dict[str, Any]:
        play = self.company.play(now_ms)  # the play that failed
        return {
            "event_id": play["event_id"],
            "event_time": play["event_time"],
            "user_id": play["user_id"],
            "track_id": play["track_id"],
            "device": play["device"],
            "error_code": self.company.rng.choice(ERROR_CODES),
            "message": "playback failed",
            "recoverable": True,
            "country": play["country"],
            "app_version": play["app_version"],
        }
