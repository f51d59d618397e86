"""Build small repositories (``products/`` + ``schemas/``) in temporary folders for tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).parents[2]

PLAY_EVENT: dict[str, Any] = {
    "type": "record",
    "name": "PlayEvent",
    "namespace": "test.player",
    "doc": "One playback.",
    "fields": [
        {"name": "event_id", "type": "string", "doc": "Unique id of the event."},
        {
            "name": "event_time",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When the playback ended.",
        },
        {"name": "user_id", "type": "string", "doc": "The listener.", "pii": "pseudonymize"},
        {
            "name": "device",
            "type": {"type": "enum", "name": "Device", "symbols": ["IOS", "WEB"]},
            "doc": "The client.",
        },
        {"name": "ms_played", "type": "long", "doc": "Milliseconds heard."},
        {
            "name": "context",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Context",
                    "fields": [{"name": "playlist_id", "type": "string", "doc": "Playlist."}],
                },
            ],
            "default": None,
            "doc": "Where playback started.",
        },
    ],
}

PRODUCT: dict[str, Any] = {
    "name": "play_events",
    "domain": "player",
    "version": 1,
    "kind": "source-aligned",
    "owner": {"team": "player-platform", "contact": "player@tunewave.example"},
    "description": {"purpose": "Every playback.", "usage": "Royalties and charts."},
    "classification": "confidential",
    "tags": ["playback"],
    "outputPort": {
        "schema": "schemas/player/PlayEvent.avsc",
        "key": "user_id",
        "eventTime": "event_time",
        "partitions": 6,
        "retention": "30d",
        "compatibility": "BACKWARD_TRANSITIVE",
    },
    "guarantees": {
        "freshness": "1m",
        "latency": "30s",
        "completeness": 0.999,
        "maxDuplicateShare": 0.001,
        "availability": 0.999,
    },
    "quality": [
        {"rule": "unique", "field": "event_id"},
        {"rule": "not_null", "field": "context.playlist_id"},
        {"rule": "range", "field": "ms_played", "min": 0, "max": 86400000},
        {"rule": "allowed_values", "field": "device", "values": ["IOS", "WEB"]},
    ],
}

DELETE = object()
"""Marks a key to remove in :func:`product`."""


def product(**changes: Any) -> dict[str, Any]:
    """The base descriptor with changes; nested keys joined by ``__`` (``outputPort__key``)."""
    doc = copy.deepcopy(PRODUCT)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = doc
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return doc


def write_schema(root: Path, domain: str, record: dict[str, Any]) -> Path:
    path = root / "schemas" / domain / f"{record['name']}.avsc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    return path


def write_product(root: Path, doc: dict[str, Any], path: Path | None = None) -> Path:
    path = path or root / "products" / doc["domain"] / f"{doc['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def make_repo(root: Path, *docs: dict[str, Any]) -> Path:
    """A repository with the PlayEvent schema and ``docs`` (the base product by default)."""
    write_schema(root, "player", PLAY_EVENT)
    for doc in docs or (product(),):
        write_product(root, doc)
    return root


def line_of(path: Path, text: str) -> int:
    """The first line of ``path`` containing ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")
