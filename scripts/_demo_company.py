"""The music company the live demo runs: listeners, artists, tracks, and the events they make.

Pure and seeded: no clock (every method takes the time, epoch ms), no I/O, so the tests check the
story's rules without a platform. The rules the events follow:

- a listener registers before their first play; an artist signs before releasing; a track is
  released before anyone plays it (new releases are played at once, release radar style);
- plays follow :data:`DAILY_CURVE` over the hours of the day; a play's ``event_time`` is when it
  ended (the client sends it then), and its ``ms_played`` is never more than the time since the
  listener's previous play ended or since the hour began, so nobody hears more than an hour of
  audio in an hour (the ``total_ms_played`` rule of ``player.hourly_play_sessions``);
- playlists are generated for listeners from the tracks they played, plus new tracks by the
  same artists.

The defects (late, duplicate and invalid events) are made here too, but *sent* by the live run
(``_demo_live.py``), which knows how: an invalid play cannot go through ``emit``.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
DAILY_CURVE = (
    0.22, 0.14, 0.09, 0.07, 0.07, 0.10, 0.22, 0.42, 0.58, 0.52, 0.48, 0.52,
    0.62, 0.58, 0.54, 0.58, 0.68, 0.80, 0.90, 1.00, 0.96, 0.82, 0.62, 0.40,
)  # fmt: skip
"""Plays per hour of the day (UTC) as a share of the evening peak."""

COUNTRIES = {
    "DE": "EUROPE",
    "SE": "EUROPE",
    "GB": "EUROPE",
    "US": "NORTH_AMERICA",
    "BR": "LATIN_AMERICA",
    "MX": "LATIN_AMERICA",
    "JP": "ASIA_PACIFIC",
    "NG": "MIDDLE_EAST_AFRICA",
}
DEVICES = ("IOS", "ANDROID", "WEB", "DESKTOP", "SMART_SPEAKER", "CAR")
PLANS = ("FREE", "FREE", "PREMIUM", "PREMIUM", "FAMILY", "STUDENT", "DUO")
AGE_BANDS = ("UNDER_18", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_64")
CONTEXTS = ("PLAYLIST", "ALBUM", "ARTIST", "SEARCH", "LIBRARY", "RADIO", "RECOMMENDATION")
GENRES = ("pop", "rock", "hip-hop", "jazz", "electronic", "folk", "classical", "afrobeats")
WORDS = ("night", "river", "gold", "echo", "summer", "paper", "neon", "velvet", "north", "fire")
APP_VERSIONS = ("8.9.2", "8.9.2", "8.9.1", "8.8.0")


@dataclass(slots=True)
class Listener:
    user_id: uuid.UUID
    country: str
    device: str
    registered_ms: int


@dataclass(slots=True)
class Artist:
    artist_id: uuid.UUID
    stage_name: str
    signed_ms: int


@dataclass(slots=True)
class Track:
    track_id: uuid.UUID
    artist_id: uuid.UUID
    duration_ms: int
    released_ms: int


def utc(ms: int) -> datetime.datetime:
    """Epoch milliseconds as an aware datetime (what ``emit`` takes for timestamp-millis)."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)


def day_start(ms: int) -> int:
    """Midnight (UTC) of the day ``ms`` is in."""
    return ms - ms % DAY_MS


def curve(ms: int) -> float:
    """The daily curve's value at ``ms``."""
    return DAILY_CURVE[ms % DAY_MS // HOUR_MS]


@dataclass
class Company:
    """The company's state: who exists, who played what and when.

    Args:
        seed: Makes the whole company (ids, names, choices) reproducible.
    """

    seed: int = 13
    rng: random.Random = field(init=False)
    listeners: list[Listener] = field(default_factory=list)
    artists: list[Artist] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    new_tracks: deque[Track] = field(default_factory=lambda: deque(maxlen=20))
    last_play: dict[uuid.UUID, int] = field(default_factory=dict)
    recent: dict[uuid.UUID, deque[uuid.UUID]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _name(self) -> str:
        return " ".join(self.rng.choice(WORDS).title() for _ in range(self.rng.choice((1, 2))))

    # --- the founding: history before the demo's past day --------------------------------------

    def founding(
        self, now_ms: int, *, listeners: int, artists: int, tracks: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """The company as it was before yesterday: signings, releases, then registrations, as
        ``(product, event)`` pairs in the order they must be sent."""
        before = day_start(now_ms) - DAY_MS  # everything here precedes the past day
        events: list[tuple[str, dict[str, Any]]] = []
        for _ in range(artists):
            at = before - self.rng.randrange(400, 800) * DAY_MS - self.rng.randrange(DAY_MS)
            events.append(("artists.signings", self.sign(at)))
        for _ in range(tracks):
            artist = self.rng.choice(self.artists)
            at = self.rng.randrange(artist.signed_ms + DAY_MS, before - HOUR_MS)
            events.append(("artists.track_releases", self.release(at, artist=artist)))
        self.new_tracks.clear()  # old releases are not new
        for _ in range(listeners):
            at = before - self.rng.randrange(1, 300) * DAY_MS - self.rng.randrange(DAY_MS)
            events.append(("listeners.registrations", self.register(at)))
        return events

    def past_day(self, now_ms: int, *, peak_per_hour: int) -> list[dict[str, Any]]:
        """Yesterday's plays (UTC), ``peak_per_hour`` in the evening peak and fewer at night
        (:data:`DAILY_CURVE`), sorted by event time."""
        start = day_start(now_ms) - DAY_MS
        ends = sorted(
            start + hour * HOUR_MS + self.rng.randrange(1, HOUR_MS)
            for hour, share in enumerate(DAILY_CURVE)
            for _ in range(round(peak_per_hour * share))
        )
        return [self.play(at) for at in ends]

    # --- the events --------------------------------------------------------------------------

    def register(self, at_ms: int) -> dict[str, Any]:
        """A new listener's registration (they may play from now on)."""
        country = self.rng.choice(list(COUNTRIES))
        listener = Listener(self._uuid(), country, self.rng.choice(DEVICES), at_ms)
        self.listeners.append(listener)
        name = self._name()
        return {
            "event_id": self._uuid(),
            "event_time": utc(at_ms),
            "user_id": listener.user_id,
            "email": f"{name.lower().replace(' ', '.')}.{len(self.listeners)}@example.com",
            "display_name": name,
            "country": country,
            "region": COUNTRIES[country],
            "age_band": self.rng.choice(AGE_BANDS),
            "plan": self.rng.choice(PLANS),
            "marketing_opt_in": self.rng.random() < 0.4,
        }

    def sign(self, at_ms: int) -> dict[str, Any]:
        """An artist signs (they may release from now on)."""
        artist = Artist(self._uuid(), self._name(), at_ms)
        self.artists.append(artist)
        return {
            "event_id": self._uuid(),
            "event_time": utc(at_ms),
            "artist_id": artist.artist_id,
            "stage_name": artist.stage_name,
            "legal_name": f"{self._name()} {self.rng.choice(WORDS).title()}son",
            "contact_email": f"artist.{len(self.artists)}@example.com",
            "label": self.rng.choice((None, "Tunewave Records", "Northern Lights")),
            "contract_type": self.rng.choice(("LABEL", "DISTRIBUTOR", "DIRECT")),
            "country": self.rng.choice(list(COUNTRIES)),
            "genres": self.rng.sample(GENRES, 2),
        }

    def release(self, at_ms: int, *, artist: Artist | None = None) -> dict[str, Any]:
        """A signed artist releases a track (played at once by some listeners)."""
        artist = artist or self.rng.choice(self.artists)
        track = Track(self._uuid(), artist.artist_id, self.rng.randrange(90_000, 420_000), at_ms)
        self.tracks.append(track)
        self.new_tracks.append(track)
        return {
            "event_id": self._uuid(),
            "event_time": utc(at_ms),
            "track_id": track.track_id,
            "artist_id": artist.artist_id,
            "featured_artist_ids": [],
            "title": self._name(),
            "duration_ms": track.duration_ms,
            "isrc": f"SE-TWV-{at_ms // DAY_MS % 100:02d}-{len(self.tracks):05d}",
            "album_id": None,
            "release_date": utc(at_ms).date(),
            "explicit": self.rng.random() < 0.1,
            "markets": sorted(self.rng.sample(list(COUNTRIES), 3)),
        }

    def _track(self, at_ms: int) -> Track:
        out_by_then = [track for track in self.new_tracks if track.released_ms <= at_ms]
        if out_by_then and self.rng.random() < 0.3:
            return self.rng.choice(out_by_then)
        # Popularity falls with catalogue rank (a long tail), among tracks out by then.
        while True:
            track = self.tracks[int(len(self.tracks) * self.rng.random() ** 2.5)]
            if track.released_ms <= at_ms:
                return track

    def play(self, at_ms: int, *, offline: bool = False) -> dict[str, Any]:
        """A play that ended at ``at_ms``, by a listener registered by then."""
        while True:
            listener = self.rng.choice(self.listeners)
            if listener.registered_ms < at_ms:
                break
        track = self._track(at_ms)
        user = listener.user_id
        hour_start = at_ms - at_ms % HOUR_MS
        # An offline play is measured on its own (its device's clock): within its hour only.
        free = at_ms - (hour_start if offline else max(self.last_play.get(user, 0), hour_start))
        skipped = self.rng.random() < 0.2
        heard = self.rng.randrange(5_000, track.duration_ms) if skipped else track.duration_ms
        ms_played = max(min(heard, free), 1)
        if not offline:
            self.last_play[user] = max(self.last_play.get(user, 0), at_ms)
        self.recent.setdefault(user, deque(maxlen=30)).append(track.track_id)
        return {
            "event_id": self._uuid(),
            "event_time": utc(at_ms),
            "user_id": user,
            "track_id": track.track_id,
            "device": listener.device,
            "country": listener.country,
            "ms_played": ms_played,
            "context_type": self.rng.choice(CONTEXTS),
            "context_id": None,
            "end_reason": "TRACK_DONE" if ms_played == track.duration_ms else "SKIPPED_FORWARD",
            "offline": offline,
            "app_version": self.rng.choice(APP_VERSIONS),
            "session_hint": None,
        }

    def late_play(self, now_ms: int) -> dict[str, Any]:
        """An offline play arriving hours late (the device was offline): past the aggregate's
        grace, so ``player.play_events`` counts it late and the agent does not count it."""
        return self.play(now_ms - self.rng.randrange(3 * HOUR_MS, 20 * HOUR_MS), offline=True)

    def playlist(self, at_ms: int) -> dict[str, Any] | None:
        """A daily mix for a listener who played something: their tracks, and more by the same
        artists. None while nobody has played."""
        if not self.recent:
            return None
        user = self.rng.choice(list(self.recent))
        played = list(dict.fromkeys(self.recent[user]))
        heard = set(played)
        artists = {t.artist_id for t in self.tracks if t.track_id in heard}
        more = [t.track_id for t in self.tracks if t.artist_id in artists]
        candidates = list(dict.fromkeys([*played, *more]))
        # Favourites first (up to 10 of what they played), then discovery by the same artists.
        favourites = self.rng.sample(played, min(len(played), 10))
        picked = set(favourites)
        discovery = [track for track in candidates if track not in picked]
        chosen = favourites + self.rng.sample(discovery, min(len(discovery), 25 - len(favourites)))
        return {
            "event_id": self._uuid(),
            "event_time": utc(at_ms),
            "playlist_id": self._uuid(),
            "user_id": user,
            "kind": self.rng.choice(("DAILY_MIX", "DAILY_MIX", "ON_REPEAT", "RELEASE_RADAR")),
            "title": f"Daily Mix {self.rng.randrange(1, 7)}",
            "track_ids": chosen,
            "model_version": "mix-2026.11",
            "candidate_count": len(candidates),
            "expires_time": utc(at_ms + DAY_MS),
        }
