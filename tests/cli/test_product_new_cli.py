"""``mesh product new``: files and next steps, usage errors, and then apply + produce works."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from streams.cli import main
from streams.config import Settings
from tests.scaffold._copy import SAMPLE, copy_repo


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "signup.json"
    path.write_text(json.dumps(SAMPLE))
    return path


def test_new_lists_the_files_and_what_to_do_next(
    runner: CliRunner, root: Path, sample: Path
) -> None:
    args = ["product", "new", "partners.signups", "--from-json", str(sample), "--root", str(root)]
    result = runner.invoke(main, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "wrote schemas/partners/Signup.avsc" in result.stdout
    assert "wrote products/partners/signups.yaml" in result.stdout
    assert "wrote products/partners/events.py" in result.stdout
    assert "wrote tests/products/partners/test_signups.py" in result.stdout
    # Every TODO it wrote: 7 field docs (email's is the mesh's), 2 nested ones, the docs of
    # the record and its nested record, and the descriptor's purpose and usage.
    assert "13 warning(s) to fix" in result.stdout
    assert "mesh product apply" in result.stdout
    assert "mesh produce partners.signups" in result.stdout


def test_new_finds_the_repository_around_the_current_directory(
    runner: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root / "products" / "player")
    result = runner.invoke(main, ["product", "new", "player.skips"])
    assert result.exit_code == 0, result.output
    assert (root / "products/player/skips.yaml").is_file()
    assert (root / "schemas/player/Skip.avsc").is_file()


def test_new_json_output(runner: CliRunner, root: Path) -> None:
    args = [
        "product",
        "new",
        "player.hourly",
        "--kind",
        "aggregate",
        "--from",
        "player.play_events",
    ]
    result = runner.invoke(main, [*args, "--root", str(root), "--output", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["product"] == "player.hourly"
    assert document["topic"] == "player.hourly.v1"
    assert "products/player/hourly.py" in document["files"]
    assert all(item["severity"] == "warning" for item in document["violations"])


def test_new_aggregate_says_its_agent_computes_it(runner: CliRunner, root: Path) -> None:
    args = [
        "product",
        "new",
        "player.hourly",
        "--kind",
        "aggregate",
        "--from",
        "player.play_events",
    ]
    result = runner.invoke(main, [*args, "--root", str(root)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "wrote products/player/hourly.py" in result.stdout
    assert "mesh agent run player.hourly" in result.stdout
    assert "mesh produce" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "aggregate"], "add --from"),
        (["--from", "player.play_events"], "add --kind aggregate"),
        (["--kind", "aggregate", "--from", "player.play_events", "--from-json", "x.json"], ""),
        (["--kind", "table"], "'table' is not one of"),
    ],
    ids=["aggregate without inputs", "inputs without aggregate", "aggregate sample", "kind"],
)
def test_usage_errors_exit_2(runner: CliRunner, root: Path, args: list[str], message: str) -> None:
    (root / "x.json").write_text("{}")
    args = [a if a != "x.json" else str(root / "x.json") for a in args]
    result = runner.invoke(main, ["product", "new", "partners.x", *args, "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (root / "products/partners").exists()


def test_existing_files_exit_1_naming_them(runner: CliRunner, root: Path) -> None:
    args = ["product", "new", "partners.signups", "--root", str(root)]
    assert runner.invoke(main, args).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "products/partners/signups.yaml" in again.stderr
    assert "--force" in again.stderr
    assert runner.invoke(main, [*args, "--force"]).exit_code == 0


def test_an_untypeable_sample_value_exits_1_naming_its_key(
    runner: CliRunner, root: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"partner_id": SAMPLE["partner_id"], "coupon": None}))
    args = ["product", "new", "partners.signups", "--from-json", str(bad), "--root", str(root)]
    result = runner.invoke(main, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "key 'coupon' is null" in result.stderr
    assert not (root / "products/partners").exists()


# --- on the platform --------------------------------------------------------------------------


def _read_all(bootstrap: str, topic: str, partitions: int) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "raw", "enable.partition.eof": True}
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    found, ended = [], set()
    try:
        while len(ended) < partitions:
            message = consumer.poll(10)
            assert message is not None, f"timed out reading {topic}"
            if message.error() is None:
                found.append(message)
            elif message.error().code() == KafkaError._PARTITION_EOF:
                ended.add(message.partition())
            else:
                raise AssertionError(message.error())
    finally:
        consumer.close()
    return found


def test_new_then_apply_then_produce(
    runner: CliRunner, root: Path, sample: Path, settings: Settings
) -> None:
    domain = f"t{uuid.uuid4().hex[:10]}"
    connect = [
        "--bootstrap-servers",
        settings.kafka.bootstrap_servers,
        "--registry-url",
        settings.registry.url,
    ]
    made = runner.invoke(
        main,
        ["product", "new", f"{domain}.signups", "--from-json", str(sample), "--root", str(root)],
    )
    assert made.exit_code == 0, made.output
    descriptor = root / "products" / domain / "signups.yaml"
    applied = runner.invoke(main, ["product", "apply", str(descriptor), *connect])
    assert applied.exit_code == 0, applied.output
    # Epoch milliseconds and days: what `mesh produce` takes for timestamp-millis and date.
    wire = {**SAMPLE, "signed_at": 1_769_880_600_000, "starts_on": 20_485}
    events = [
        {**wire, "event_id": str(uuid.uuid4()), "event_time": 1_767_225_600_000 + n}
        for n in range(2)
    ]
    lines = "".join(json.dumps(event) + "\n" for event in events)
    topic = f"{domain}.signups.v1"
    sent = runner.invoke(main, ["produce", f"{domain}.signups", *connect], input=lines)
    try:
        assert sent.exit_code == 0, sent.output
        assert "sent 2 events" in sent.stderr
        messages = _read_all(settings.kafka.bootstrap_servers, topic, 3)
        # Keyed by the descriptor's key, partner_id, which `mesh product new` chose.
        assert [m.key() for m in messages] == [SAMPLE["partner_id"].encode()] * 2
    finally:
        admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
        for future in admin.delete_topics([topic, f"{topic}.dlq"]).values():
            future.result(10)


def test_a_new_aggregate_replays_its_new_input(
    runner: CliRunner, root: Path, sample: Path, settings: Settings
) -> None:
    """`mesh product new --kind aggregate` writes code `mesh replay` runs as it is."""
    domain = f"t{uuid.uuid4().hex[:10]}"
    source, hourly = f"{domain}.signups", f"{domain}.signups_per_hour"
    connect = [
        "--bootstrap-servers",
        settings.kafka.bootstrap_servers,
        "--registry-url",
        settings.registry.url,
    ]
    new = ["product", "new", "--root", str(root)]
    assert runner.invoke(main, [*new, source, "--from-json", str(sample)]).exit_code == 0
    made = runner.invoke(main, [*new, hourly, "--kind", "aggregate", "--from", source])
    assert made.exit_code == 0, made.output
    topics = [f"{source}.v1", f"{source}.v1.dlq", f"{hourly}.v1", f"{hourly}.v1.dlq"]
    try:
        for name in ("signups", "signups_per_hour"):
            descriptor = root / "products" / domain / f"{name}.yaml"
            applied = runner.invoke(main, ["product", "apply", str(descriptor), *connect])
            assert applied.exit_code == 0, applied.output
        wire = {**SAMPLE, "signed_at": 1_769_880_600_000, "starts_on": 20_485}
        start = 1_767_225_600_000  # on the hour
        lines = "".join(
            json.dumps({**wire, "event_id": str(uuid.uuid4()), "event_time": start + n * 60_000})
            + "\n"
            for n in range(3)
        )
        sent = runner.invoke(main, ["produce", source, *connect], input=lines)
        assert sent.exit_code == 0, sent.output
        replayed = runner.invoke(
            main,
            ["replay", hourly, "--from", "0", "--root", str(root), "--output", "json", *connect],
        )
        assert replayed.exit_code == 0, replayed.output
        summary = json.loads(replayed.stdout)
        assert summary["counted"] == 3
        assert _read_all(settings.kafka.bootstrap_servers, f"{hourly}.v1", 3)
    finally:
        admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
        for future in admin.delete_topics(topics).values():
            try:
                future.result(10)
            except KafkaException:  # a topic the failed step did not create
                continue


def test_the_readme_shows_what_mesh_product_new_prints(runner: CliRunner, root: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Create a product", 1)[1].split("```", 2)[1]
    lines = section.strip().splitlines()
    (sample,) = re.findall(r"^\$ echo '(.*)' > signup\.json$", section, re.MULTILINE)
    (root / "signup.json").write_text(sample)
    start = lines.index("$ mesh product new partners.signups --from-json signup.json")
    shown = [line for line in lines[start + 1 :] if line != "..."]
    shown = shown[: next(i for i, line in enumerate(shown) if line.startswith("$ "))]
    args = ["product", "new", "partners.signups", "--from-json", str(root / "signup.json")]
    result = runner.invoke(main, [*args, "--root", str(root)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    assert shown
    assert [line for line in shown if line not in printed] == []
