"""``streams.codegen`` and ``mesh codegen``: reproducible, lint-clean, wire-compatible models."""

from __future__ import annotations

import copy
import importlib
import importlib.util
import io
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import fastavro
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError

from streams.cli import main
from streams.codegen import generate, render_models, stale, write
from streams.errors import ConfigError, InvalidSchemaError, SchemaError

ROOT = Path(__file__).parents[2]
PLAY = "11111111-1111-4111-8111-111111111111"
USER = "22222222-2222-4222-8222-222222222222"
TRACK = "33333333-3333-4333-8333-333333333333"
ARTIST = "44444444-4444-4444-8444-444444444444"
PLAYLIST = "55555555-5555-4555-8555-555555555555"
WHEN = "2024-06-01T18:30:15.250+02:00"

# One realistic event per record, as a producer would write it in JSON.
EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("player", "PlayEvent"): {
        "event_id": PLAY,
        "event_time": WHEN,
        "user_id": USER,
        "track_id": TRACK,
        "device": "ANDROID",
        "country": "DE",
        "ms_played": 187_342,
        "context_type": "PLAYLIST",
        "context_id": PLAYLIST,
        "end_reason": "TRACK_DONE",
        "offline": False,
        "app_version": "8.9.12",
        "session_hint": "s-7f3a",
    },
    ("player", "PlayerError"): {
        "event_id": PLAY,
        "event_time": WHEN,
        "user_id": USER,
        "track_id": None,
        "device": "IOS",
        "error_code": "DRM_LICENSE",
        "message": "license server answered 403",
        "recoverable": True,
        "country": "BR",
        "app_version": "8.9.12",
    },
    ("player", "HourlyPlaySession"): {
        "window_start": "2024-06-01T16:00:00Z",
        "window_end": "2024-06-01T17:00:00Z",
        "event_time": "2024-06-01T16:58:02.125Z",
        "user_id": USER,
        "plays": 14,
        "skips": 3,
        "total_ms_played": 2_812_004,
        "distinct_tracks": 12,
        "offline_plays": 0,
        "device": "DESKTOP",
        "final": True,
    },
    ("listeners", "ListenerRegistered"): {
        "event_id": PLAY,
        "event_time": WHEN,
        "user_id": USER,
        "email": "ada@example.org",
        "display_name": "Ada",
        "country": "SE",
        "region": "EUROPE",
        "age_band": "AGE_25_34",
        "plan": "FREE",
        "marketing_opt_in": False,
    },
    ("listeners", "ListenerProfileUpdated"): {
        "event_id": PLAY,
        "event_time": WHEN,
        "user_id": USER,
        "changed_fields": ["PLAN"],
        "email": "ada@example.org",
        "display_name": None,
        "country": "SE",
        "region": "EUROPE",
        "age_band": "AGE_25_34",
        "plan": "PREMIUM",
    },
    ("artists", "ArtistSigned"): {
        "event_id": PLAY,
        "event_time": WHEN,
        "artist_id": ARTIST,
        "stage_name": "The Tide",
        "contact_email": "mgmt@thetide.example",
        "contract_type": "LABEL",
        "label": "Harbour Records",
        "country": "GB",
        "genres": ["indie pop", "shoegaze"],
    },
    ("artists", "TrackReleased"): {
        "event_id": PLAY,
        "event_time": WHEN,
        "track_id": TRACK,
        "artist_id": ARTIST,
        "title": "Low Water",
        "duration_ms": 214_000,
        "isrc": "GBAYE2400123",
        "release_date": "2024-06-07",
        "explicit": False,
    },
    ("playlists", "PlaylistGenerated"): {
        "event_id": PLAY,
        "event_time": WHEN,
        "playlist_id": PLAYLIST,
        "user_id": USER,
        "kind": "DAILY_MIX",
        "title": "Daily Mix 2",
        "track_ids": [TRACK, "66666666-6666-4666-8666-666666666666"],
        "model_version": "ranker-2024.06.1",
        "candidate_count": 1_200,
        "expires_time": "2024-06-02T04:00:00Z",
    },
}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures the ``streams`` logger; give it back as it was."""
    package_logger = logging.getLogger("streams")
    handlers, level = list(package_logger.handlers), package_logger.level
    yield
    package_logger.handlers[:] = handlers
    package_logger.setLevel(level)


def _model(domain: str, record: str) -> type[BaseModel]:
    model: type[BaseModel] = getattr(importlib.import_module(f"products.{domain}.events"), record)
    return model


def _avro(domain: str, record: str) -> Any:
    text = (ROOT / "schemas" / domain / f"{record}.avsc").read_text(encoding="utf-8")
    return fastavro.parse_schema(json.loads(text))


def _round_trip(schema: Any, datum: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, datum)
    buffer.seek(0)
    decoded: dict[str, Any] = fastavro.schemaless_reader(buffer, schema, schema)
    return decoded


def _import_source(source: str, directory: Path, name: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    config = str(ROOT / "pyproject.toml")
    command = [sys.executable, "-m", "ruff", *args, "--config", config]
    return subprocess.run(command, capture_output=True, text=True, check=False)


# --- the checked-in modules -------------------------------------------------------------------


def test_checked_in_modules_are_what_generate_gives() -> None:
    generated = generate(ROOT)
    on_disk = sorted((ROOT / "products").glob("*/events.py"))
    assert sorted(generated) == on_disk
    for path, source in generated.items():
        assert path.read_text(encoding="utf-8") == source, f"{path} is stale: run mesh codegen"
    assert stale(ROOT) == []


def test_generating_twice_gives_the_same_text() -> None:
    first, second = generate(ROOT), generate(ROOT)
    assert first == second
    assert list(first) == sorted(first)


def test_modules_start_with_the_header_and_export_every_class() -> None:
    for path, source in generate(ROOT).items():
        domain = path.parent.name
        assert source.splitlines()[0] == (
            f"# Generated by `mesh codegen` from schemas/{domain}/*.avsc. Do not edit."
        )
        module = importlib.import_module(f"products.{domain}.events")
        defined = {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == module.__name__
        }
        assert module.__all__ == sorted(defined)


def test_generated_modules_pass_ruff() -> None:
    products = str(ROOT / "products")
    check = _ruff("check", products)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = _ruff("format", "--check", products)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


# --- the models -------------------------------------------------------------------------------


@pytest.mark.parametrize(("domain", "record"), sorted(EXAMPLES), ids="/".join)
def test_models_round_trip_through_avro(domain: str, record: str) -> None:
    model = _model(domain, record)
    event = model.model_validate(EXAMPLES[(domain, record)])
    decoded = _round_trip(_avro(domain, record), event.model_dump(mode="python"))
    assert model.model_validate(decoded) == event
    assert model.model_validate_json(event.model_dump_json()) == event


def test_every_example_is_of_a_record() -> None:
    records = {(path.parent.name, path.stem) for path in (ROOT / "schemas").glob("*/*.avsc")}
    assert set(EXAMPLES) <= records


@pytest.mark.parametrize(
    "path", sorted((ROOT / "schemas").glob("*/*.avsc")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_record_has_its_model(path: Path) -> None:
    """Whatever schemas/ holds (a product added by `mesh product new` has its own test with an
    example): each record has a generated model carrying its full name."""
    namespace = json.loads(path.read_text(encoding="utf-8"))["namespace"]
    model = _model(path.parent.name, path.stem)
    assert model.__avro_schema__ == f"{namespace}.{path.stem}"  # type: ignore[attr-defined]


def test_a_play_event_is_typed() -> None:
    model = _model("player", "PlayEvent")
    event: Any = model.model_validate(EXAMPLES[("player", "PlayEvent")])
    assert event.event_time == datetime(2024, 6, 1, 16, 30, 15, 250_000, tzinfo=UTC)
    assert event.event_time.tzinfo is UTC
    assert str(event.user_id) == USER
    assert event.device == "ANDROID"
    assert type(event.device).__name__ == "Device"
    assert model.__avro_schema__ == "music.player.PlayEvent"  # type: ignore[attr-defined]
    assert model.__doc__
    assert model.model_fields["user_id"].json_schema_extra == {"pii": "pseudonymize"}
    assert model.model_fields["track_id"].json_schema_extra is None
    assert model.model_fields["ms_played"].description


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"ms_played": "a lot"}, "ms_played"),
        ({"ms_played": 2**63}, "ms_played"),
        ({"device": "FRIDGE"}, "device"),
        ({"user_id": "not-a-uuid"}, "user_id"),
        ({"event_time": "2024-06-01T18:30:15"}, "event_time"),
        ({"listener": "ada"}, "listener"),
    ],
    ids=["wrong type", "out of range", "unknown symbol", "bad uuid", "naive time", "unknown"],
)
def test_a_play_event_rejects_bad_data(change: dict[str, Any], problem: str) -> None:
    model = _model("player", "PlayEvent")
    with pytest.raises(ValidationError, match=problem):
        model.model_validate({**EXAMPLES[("player", "PlayEvent")], **change})


def test_models_are_frozen_and_fill_avro_defaults() -> None:
    model = _model("player", "PlayEvent")
    payload = dict(EXAMPLES[("player", "PlayEvent")])
    del payload["offline"], payload["context_id"], payload["session_hint"]
    event: Any = model.model_validate(payload)
    assert (event.offline, event.context_id, event.session_hint) == (False, None, None)
    with pytest.raises(ValidationError, match="frozen"):
        event.ms_played = 1


def test_timestamps_keep_what_the_wire_keeps() -> None:
    model = _model("player", "PlayEvent")
    precise = datetime(2024, 6, 1, 18, 30, 15, 250_999, tzinfo=timezone(timedelta(hours=2)))
    event: Any = model.model_validate({**EXAMPLES[("player", "PlayEvent")], "event_time": precise})
    assert event.event_time == datetime(2024, 6, 1, 16, 30, 15, 250_000, tzinfo=UTC)


# --- render_models on everything Avro can say ------------------------------------------------

KITCHEN_SINK: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "shop.orders",
    "doc": 'An order. Its doc has "quotes", a backslash \\ and is long enough to need wrapping '
    "over several lines of the class docstring.",
    "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "The id."},
        {"name": "placedAt", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "int", "logicalType": "time-millis"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        },
        {"name": "digest", "type": {"type": "fixed", "name": "Md5", "size": 16}},
        {"name": "tags", "type": {"type": "map", "values": "long"}, "default": {}},
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "doc": "One line of an order.",
                    "fields": [
                        {"name": "sku", "type": "string", "doc": "Stock keeping unit."},
                        {"name": "qty", "type": "int", "default": 1},
                        {
                            "name": "status",
                            "type": {
                                "type": "enum",
                                "name": "Status",
                                "symbols": ["OK", "backOrdered"],
                                "default": "OK",
                            },
                            "default": "OK",
                        },
                    ],
                },
            },
        },
        {"name": "parent", "type": ["null", "Order"], "default": None},
        {"name": "note", "type": ["null", "string", "long"], "default": None, "doc": 'Say "hi"'},
        {"name": "blob", "type": "bytes", "default": '\u0000a"\\'},
        {"name": "ratio", "type": "double", "default": 0.5},
        {"name": "status", "type": "Status", "default": "backOrdered"},
        {"name": "model_version", "type": "string", "default": "v1"},
        {"name": "description", "type": "string", "doc": "x" * 150 + " the end"},
    ],
}


@pytest.fixture
def kitchen_sink(tmp_path: Path) -> tuple[ModuleType, Path]:
    source = render_models([KITCHEN_SINK], header="test", doc="Kitchen sink.")
    return _import_source(source, tmp_path, "kitchen_sink"), tmp_path / "kitchen_sink.py"


def test_render_covers_avro_types(kitchen_sink: tuple[ModuleType, Path]) -> None:
    module, path = kitchen_sink
    assert module.__all__ == ["Line", "Order", "Status"]
    moment = datetime(2024, 1, 2, 3, 4, 5, 678_901, tzinfo=timezone(timedelta(hours=-5)))
    child = module.Order(
        id=PLAY,
        placedAt=moment,
        local=datetime(2024, 1, 2, 3, 4, 5, 678_901),
        day=date(2024, 1, 2),
        at="03:04:05.678901",
        amount=Decimal("12.5"),
        digest=b"0123456789abcdef",
        lines=[{"sku": "A-1", "qty": 2}, {"sku": "B-2", "status": "backOrdered"}],
        note=7,
        description="d",
    )
    order = module.Order.model_validate({**child.model_dump(), "parent": child, "note": "hi"})
    assert order.parent.placedAt == moment
    assert order.parent.local.microsecond == 678_000
    decoded = _round_trip(fastavro.parse_schema(KITCHEN_SINK), order.model_dump(mode="python"))
    assert module.Order.model_validate(decoded) == order
    with pytest.raises(ValidationError, match="digest"):
        module.Order.model_validate({**child.model_dump(), "digest": b"short"})
    with pytest.raises(ValidationError, match="amount"):
        module.Order.model_validate({**child.model_dump(), "amount": Decimal("1.234")})
    assert _ruff("check", str(path)).returncode == 0, _ruff("check", str(path)).stdout
    assert _ruff("format", "--check", str(path)).returncode == 0


def _with_field(field: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "R", "fields": [field]}


@pytest.mark.parametrize(
    ("schemas", "error", "match"),
    [
        (["{not json"], InvalidSchemaError, "not valid JSON"),
        (['"string"'], SchemaError, "not a record"),
        ([_with_field({"name": "json", "type": "string"})], SchemaError, "pydantic attribute"),
        ([_with_field({"name": "class", "type": "string"})], SchemaError, "keyword"),
        (
            [_with_field({"name": "date", "type": {"type": "int", "logicalType": "date"}})],
            SchemaError,
            "named like a type",
        ),
        ([_with_field({"name": "Field", "type": "string"})], SchemaError, "named like a type"),
        (
            [
                _with_field(
                    {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["upper"]}}
                )
            ],
            SchemaError,
            "str method",
        ),
        (
            [
                _with_field(
                    {"name": "d", "type": {"type": "int", "logicalType": "date"}, "default": 0}
                )
            ],
            SchemaError,
            "does not support a default",
        ),
        (
            [
                _with_field({"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A"]}}),
                {
                    "type": "record",
                    "name": "S",
                    "fields": [
                        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["B"]}}
                    ],
                },
            ],
            SchemaError,
            "defines 'E' differently",
        ),
        (
            [
                {"type": "record", "name": "a.Thing", "fields": []},
                {"type": "record", "name": "b.Thing", "fields": []},
            ],
            SchemaError,
            "both become class 'Thing'",
        ),
    ],
    ids=[
        "invalid",
        "not a record",
        "pydantic name",
        "keyword",
        "shadowed type",
        "shadowed Field",
        "str method symbol",
        "default",
        "conflicting copies",
        "same simple name",
    ],
)
def test_render_refuses_what_python_cannot_hold(
    schemas: list[Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        render_models(schemas, doc="x")


def test_identical_copies_of_a_type_become_one_class() -> None:
    enum = {"type": "enum", "name": "E", "symbols": ["A"], "doc": "An enum."}
    first = _with_field({"name": "e", "type": enum})
    second = {"type": "record", "name": "S", "fields": [{"name": "e", "type": copy.deepcopy(enum)}]}
    source = render_models([first, second], doc="x")
    assert source.count("class E(StrEnum)") == 1


# --- files and the CLI ------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the repository's schemas/ and products/."""
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    shutil.copytree(
        ROOT / "products", tmp_path / "products", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def test_check_passes_on_the_repository() -> None:
    result = CliRunner().invoke(main, ["codegen", "--check", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout


def test_check_fails_on_a_changed_schema_until_codegen_runs(repo: Path) -> None:
    runner = CliRunner()
    schema_path = repo / "schemas" / "player" / "PlayEvent.avsc"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["fields"][0]["doc"] = "Changed."
    schema_path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")

    result = runner.invoke(main, ["codegen", "--check", "--root", str(repo)])
    assert result.exit_code == 1, result.output
    assert "stale: products/player/events.py" in result.stdout
    assert "artists" not in result.stdout
    assert "Changed." not in (repo / "products" / "player" / "events.py").read_text()

    result = runner.invoke(main, ["codegen", "--root", str(repo)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "wrote products/player/events.py"
    assert "Changed." in (repo / "products" / "player" / "events.py").read_text()
    assert runner.invoke(main, ["codegen", "--check", "--root", str(repo)]).exit_code == 0


def test_write_creates_packages_and_only_touches_changed_files(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    written = write(tmp_path)
    assert tmp_path / "products" / "__init__.py" in written
    assert tmp_path / "products" / "player" / "__init__.py" in written
    assert tmp_path / "products" / "player" / "events.py" in written
    assert write(tmp_path) == []


def test_schema_files_must_be_named_after_their_record(repo: Path) -> None:
    source = repo / "schemas" / "player" / "PlayEvent.avsc"
    source.rename(source.with_name("Play.avsc"))
    with pytest.raises(InvalidSchemaError, match="named after its record"):
        generate(repo)


def test_missing_schemas_directory_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--root"):
        generate(tmp_path)
    result = CliRunner().invoke(main, ["codegen", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "no schemas directory" in result.stderr


def test_a_superseded_versions_schema_is_not_generated(repo: Path) -> None:
    """``PlayEvent.v1.avsc`` keeps v1's schema after a breaking change; models are of v2."""
    before = generate(repo)
    shutil.copy(repo / "schemas/player/PlayEvent.avsc", repo / "schemas/player/PlayEvent.v1.avsc")
    assert generate(repo) == before
