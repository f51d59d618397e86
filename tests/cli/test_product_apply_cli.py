"""``mesh product plan`` / ``mesh product apply`` through click's runner."""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from streams.catalog import ApplyResult, CatalogStore, Change
from streams.cli import main, product_apply
from streams.config import Settings
from tests.catalog._repo import DELETE, PLAY_EVENT, product, write_product, write_schema


def make(root: Path, **changes: object) -> str:
    domain = f"t{uuid.uuid4().hex[:10]}"
    write_schema(root, domain, PLAY_EVENT)
    doc = product(domain=domain, outputPort__schema=f"schemas/{domain}/PlayEvent.avsc", **changes)
    write_product(root, doc)
    return f"{domain}.play_events.v1"


def connect(settings: Settings) -> list[str]:
    return [
        "--bootstrap-servers",
        settings.kafka.bootstrap_servers,
        "--registry-url",
        settings.registry.url,
    ]


def test_plan_json_is_empty_after_apply(
    runner: CliRunner, tmp_path: Path, settings: Settings
) -> None:
    topic = make(tmp_path)
    flags = [str(tmp_path), "--output", "json", *connect(settings)]

    before = runner.invoke(main, ["product", "plan", *flags])
    assert before.exit_code == 0, before.output
    planned = json.loads(before.stdout)
    assert {item["action"] for item in planned} == {
        "create-topic",
        "set-compatibility",
        "register-schema",
        "publish-descriptor",
    }
    assert all(
        set(item) == {"product", "action", "target", "detail", "blocking"} for item in planned
    )
    assert {item["product"] for item in planned} == {topic}

    applied = runner.invoke(main, ["product", "apply", *flags])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout) == planned

    after = runner.invoke(main, ["product", "plan", *flags])
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout) == []

    again = runner.invoke(main, ["product", "apply", str(tmp_path), *connect(settings)])
    assert again.exit_code == 0, again.output
    assert "no changes" in again.stdout

    # The broker keeps everything in memory for the whole session: drop what we made.
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for future in admin.delete_topics([topic, f"{topic}.dlq"]).values():
        future.result(10)


def test_plan_text_lists_changes(runner: CliRunner, tmp_path: Path, settings: Settings) -> None:
    topic = make(tmp_path)
    result = runner.invoke(main, ["product", "plan", str(tmp_path), *connect(settings)])
    assert result.exit_code == 0, result.output
    assert "create-topic" in result.stdout
    assert topic in result.stdout


def test_apply_refuses_governance_errors(
    runner: CliRunner, tmp_path: Path, settings: Settings
) -> None:
    make(tmp_path, owner=DELETE)
    result = runner.invoke(main, ["product", "apply", str(tmp_path), *connect(settings)])
    assert result.exit_code == 1
    assert "GOV001-required" in result.stderr
    assert "nothing was changed" in result.stderr


def test_unreachable_kafka_exits_3(runner: CliRunner, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    make(tmp_path)
    result = runner.invoke(
        main,
        [
            "product",
            "plan",
            str(tmp_path),
            "--bootstrap-servers",
            f"127.0.0.1:{port}",
            "--registry-url",
            f"http://127.0.0.1:{port}",
        ],
    )
    assert result.exit_code == 3, result.output
    assert "mesh up" in result.stderr


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_plan_lints_first(runner: CliRunner, tmp_path: Path) -> None:
    """plan was clean where apply refused: now it refuses too, before asking the broker."""
    make(tmp_path, owner=DELETE)
    down = f"127.0.0.1:{closed_port()}"
    result = runner.invoke(
        main,
        ["product", "plan", str(tmp_path), "--bootstrap-servers", down],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 1, result.output
    assert "GOV001-required" in result.stdout
    assert "blocked" in result.stdout
    as_json = runner.invoke(
        main, ["product", "plan", str(tmp_path), "--output", "json", "--bootstrap-servers", down]
    )
    assert as_json.exit_code == 1, as_json.output
    (refused,) = json.loads(as_json.stdout)
    assert refused["action"] == "blocked"
    assert refused["blocking"] is True
    assert refused["detail"].startswith("GOV001-required: product declares no owner")


def test_plan_and_apply_take_a_folder_inside_the_repository(
    runner: CliRunner, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mesh product apply products/` did nothing and reported success."""
    topic = make(tmp_path)
    domain = topic.partition(".")[0]
    products = str(tmp_path / "products")
    planned = runner.invoke(
        main, ["product", "plan", products, "--output", "json", *connect(settings)]
    )
    assert planned.exit_code == 0, planned.output
    assert {item["product"] for item in json.loads(planned.stdout)} == {topic}
    applied = runner.invoke(
        main, ["product", "apply", str(tmp_path / "products" / domain), *connect(settings)]
    )
    assert applied.exit_code == 0, applied.output
    assert "change(s) made" in applied.stdout
    # From a folder of the repository, without PATH: the whole repository, already applied.
    monkeypatch.chdir(tmp_path / "products" / domain)
    again = runner.invoke(main, ["product", "plan", "--output", "json", *connect(settings)])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == []
    drop(settings, topic)


def test_reviving_a_retired_product_needs_force(
    runner: CliRunner, tmp_path: Path, settings: Settings
) -> None:
    retired = {"note": "no longer produced", "sunset": "2026-01-01"}
    topic = make(tmp_path, status="retired", deprecation=retired)
    applied = runner.invoke(main, ["product", "apply", str(tmp_path), *connect(settings)])
    assert applied.exit_code == 0, applied.output
    domain = topic.partition(".")[0]
    doc = product(domain=domain, outputPort__schema=f"schemas/{domain}/PlayEvent.avsc")
    write_product(tmp_path, doc)  # status: active again
    refused = runner.invoke(main, ["product", "apply", str(tmp_path), *connect(settings)])
    assert refused.exit_code == 1, refused.output
    assert f"{topic} is retired in the catalog" in refused.stderr
    assert "--force" in refused.stderr
    with CatalogStore(settings=settings) as store:
        assert store.read()[topic].product.status == "retired"
    revived = runner.invoke(
        main, ["product", "apply", str(tmp_path), "--force", *connect(settings)]
    )
    assert revived.exit_code == 0, revived.output
    assert "status retired -> active" in revived.stdout
    with CatalogStore(settings=settings) as store:
        assert store.read()[topic].product.status == "active"
    drop(settings, topic)


def drop(settings: Settings, topic: str) -> None:
    """The broker keeps everything in memory for the whole session: drop what we made."""
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for future in admin.delete_topics([topic, f"{topic}.dlq"]).values():
        future.result(10)


# --- each change printed once (no broker: the library's apply is replaced) --------------------

_CHANGES = (
    Change(
        product="partners.signups.v1",
        action="create-topic",
        target="partners.signups.v1",
        detail="3 partitions, retention 7d",
    ),
    Change(
        product="partners.signups.v1",
        action="register-schema",
        target="partners.signups.v1-value",
        detail="version 1",
    ),
    Change(
        product="partners.other.v1",
        action="publish-descriptor",
        target="partners.other.v1",
        detail="status active",
    ),
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def fake_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """``checked_apply`` makes three changes, reporting each through ``on_change``."""

    def checked_apply(
        path: Path, *, settings: Settings, on_change: Callable[[Change], None], force: bool
    ) -> ApplyResult:
        for change in _CHANGES:
            on_change(change)
        return ApplyResult(changes=_CHANGES)

    monkeypatch.setattr(product_apply, "checked_apply", checked_apply)
    monkeypatch.setattr(product_apply, "connection_settings", lambda **_: Settings())


_FLAGS = ["--bootstrap-servers", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:2"]


def _count(text: str, change: Change) -> int:
    return _ANSI.sub("", text).count(f"{change.target}: {change.detail}")


@pytest.mark.usefixtures("fake_apply")
@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
def test_apply_prints_each_change_once(runner: CliRunner, tmp_path: Path, terminal: bool) -> None:
    """On a terminal it printed dimmed progress on stderr and then the same table on stdout."""
    env = {"COLUMNS": "80", **({"FORCE_COLOR": "1"} if terminal else {})}
    result = runner.invoke(main, ["product", "apply", str(tmp_path), *_FLAGS], env=env)
    assert result.exit_code == 0, result.output
    for change in _CHANGES:
        assert _count(result.stdout, change) == 1, result.stdout
        assert _count(result.stderr, change) == 0, result.stderr
    shown = _ANSI.sub("", result.stdout).splitlines()
    assert shown.count("partners.signups.v1") == 1  # each product a heading, once
    assert shown[-1] == "3 change(s) made"


@pytest.mark.usefixtures("fake_apply")
def test_apply_json_shows_progress_only_when_stdout_is_not_a_terminal(
    runner: CliRunner, tmp_path: Path
) -> None:
    args = ["product", "apply", str(tmp_path), "--output", "json", *_FLAGS]
    piped = runner.invoke(main, args)
    assert piped.exit_code == 0, piped.output
    assert len(json.loads(piped.stdout)) == 3
    assert all(_count(piped.stderr, change) == 1 for change in _CHANGES), piped.stderr
    on_terminal = runner.invoke(main, args, env={"FORCE_COLOR": "1"})
    assert on_terminal.exit_code == 0, on_terminal.output
    assert all(_count(on_terminal.stderr, change) == 0 for change in _CHANGES)
