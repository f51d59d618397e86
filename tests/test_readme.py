"""Every ```python block of README.md runs, so the examples cannot rot.

They run as a reader would run them, each in its own interpreter, from a folder outside the
repository, against a platform found through its state directory (``STREAMS_LOCAL__STATE_DIR``,
as from any subdirectory of a repository after ``mesh up``). That platform is the module's own,
not the session's: the examples use the real products (``player.play_events``), which the tests
sharing the session platform leave alone (they use uuid topics).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import click
import pytest
from pydantic import BaseModel

from streams.config import LocalSettings
from streams.local import EmbeddedPlatform

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Each ```python block: the line its code starts on, and the code."""
    blocks = []
    lines = text.splitlines()
    start: int | None = None
    for number, line in enumerate(lines, start=1):
        if start is None and line.strip() == "```python":
            start = number + 1
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(lines[start - 1 : number - 1]) + "\n"))
            start = None
    assert start is None, f"README.md:{start}: a ```python block is never closed"
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_blocks_are_found() -> None:
    assert python_blocks("x\n```python\na = 1\nb = 2\n```\n```\nnot python\n```\n") == [
        (3, "a = 1\nb = 2\n")
    ]
    assert len(BLOCKS) >= 5


@pytest.fixture(scope="module")
def readme_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A platform with the repository's products applied; its state directory."""
    state_dir = tmp_path_factory.mktemp("readme-mesh")
    settings = LocalSettings(state_dir=state_dir, monitor=False, web=False)
    with EmbeddedPlatform(settings=settings, free_ports=True) as info:
        where = ["--bootstrap-servers", info.bootstrap_servers, "--registry-url", info.registry_url]
        applied = subprocess.run(
            [sys.executable, "-m", "streams.cli", "product", "apply", str(ROOT), *where],
            capture_output=True,
            text=True,
            timeout=300,
            # As the platform's admin (the examples find it through the state directory).
            env={**os.environ, "STREAMS_IDENTITY__FILE": str(info.admin_credential)},
        )
        assert applied.returncode == 0, applied.stderr
        yield state_dir


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_a_readme_example_runs(readme_platform: Path, tmp_path: Path, line: int, code: str) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("STREAMS_")}
    env["STREAMS_LOCAL__STATE_DIR"] = str(readme_platform)
    env["PYTHONPATH"] = str(ROOT)  # `from products.player.events import ...`
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"README.md:{line}: the example failed:\n{done.stderr[-4000:]}"


# The README's structure: generated references, links, the top, the principles, the architecture.


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_generator", ROOT / "scripts/readme.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _load_generator()
TEXT = README.read_text(encoding="utf-8")


def _section(heading: str) -> str:
    """The text under ``## heading`` up to the next ``## ``."""
    start = TEXT.index(f"\n## {heading}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : None if end == -1 else end]


def test_the_generated_references_match_the_models() -> None:
    assert GENERATOR.render(TEXT) == TEXT, (
        "README.md's generated references differ from the models: run "
        "`.venv/bin/python scripts/readme.py` and commit README.md"
    )


def test_the_descriptor_reference_names_every_field() -> None:
    reference = GENERATOR.descriptor_reference()
    for field in (
        "`outputPort.eventTime`",
        "`guarantees.maxDuplicateShare`",
        "`inputPorts[].version`",
        "`deprecation.replacedBy`",
        "`quality[].rule: allowed_values`",
        "`quality[].values`",
    ):
        assert field in reference
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    assert len(rows) == len({row.split("|")[1] for row in rows}), "a field is listed twice"


def test_a_field_without_description_is_refused() -> None:
    class Undocumented(BaseModel):
        size: int = 1

    with pytest.raises(GENERATOR.UndocumentedError, match=r"widget\.size has no description"):
        GENERATOR._rows(Undocumented, "widget.")


def test_render_wants_its_markers() -> None:
    with pytest.raises(ValueError, match="descriptor reference"):
        GENERATOR.render("# no markers\n")
    stale = TEXT.replace("| `outputPort.partitions` |", "| `outputPort.partition` |")
    assert stale != TEXT
    assert GENERATOR.render(stale) == TEXT


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_inside_the_readme_reach_a_heading() -> None:
    outside = re.sub(r"```.*?```", "", TEXT, flags=re.S)
    anchors = {_anchor(line.lstrip("#")) for line in outside.splitlines() if line.startswith("#")}
    assert _anchor("Running on Apache Kafka (local)") == "running-on-apache-kafka-local"
    links = re.findall(r"\]\(#([^)]+)\)", outside)
    assert links
    assert sorted(set(links) - anchors) == []


def test_the_top_is_three_sentences_and_two_commands() -> None:
    title, intro, block = re.match(r"# (.+?)\n\n(.+?)\n\n```\n(.*?)```", TEXT, flags=re.S).groups()
    assert title == "streams"
    sentences = re.findall(r"[^.]+\.(?:\s|$)", intro)
    assert len(sentences) == 3, sentences
    assert block.splitlines() == ["scripts/demo", "scripts/test"]
    for command in block.splitlines():
        assert os.access(ROOT / command, os.X_OK), f"{command} is not an executable file"
    assert TEXT.index("```") == TEXT.index(block) - len("```\n")


def _commands() -> set[str]:
    """Every `mesh ...` command path the CLI knows, e.g. ``mesh product apply``."""
    from streams.cli import main

    found = set()

    def walk(command: click.Command, path: str) -> None:
        found.add(path)
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} lists {name!r} but has no such command"
                walk(sub, f"{path} {name}")

    walk(main, "mesh")
    return found


def test_the_principles_map_to_real_commands() -> None:
    table = [
        line
        for line in _section("Four principles, seven commands").splitlines()
        if line.startswith("| ") and not line.startswith("| Principle")
    ]
    concepts = {line.split("|")[2].strip(): line.split("|")[4].strip(" `") for line in table}
    assert set(concepts) == {"domain", "product", "guarantee", "policy", "agent", "replay", "grant"}
    principles = {line.split("|")[1].strip() for line in table}
    assert len(principles) == 4, principles
    assert sorted(set(concepts.values()) - _commands()) == []


def _topics_in_code() -> set[str]:
    from streams import naming
    from streams.catalog.store import PRODUCTS_TOPIC
    from streams.config import RegistrySettings
    from streams.guarantees.state import STATE_TOPIC
    from streams.kafka.redrive import REDRIVES_TOPIC
    from streams.registry import access_topic, domains_topic
    from streams.registry._keyring import KEYS_TOPIC

    return {
        RegistrySettings().topic,
        PRODUCTS_TOPIC,
        naming.observations_topic(),
        naming.alerts_topic(),
        naming.lineage_topic(),
        access_topic(),
        KEYS_TOPIC,
        domains_topic(),
        naming.agent_runs_topic(),
        STATE_TOPIC,
        REDRIVES_TOPIC,
    }


def test_the_architecture_names_the_real_topics_and_every_package() -> None:
    architecture = _section("Architecture")
    named = set(re.findall(r"(?<![\w.])(_schemas|_mesh\.[a-z_]+)\b", architecture))
    named.discard("_mesh.agents")  # the checkpoint topics' prefix, built by naming.checkpoint_topic
    assert sorted(named - _topics_in_code()) == [], "a topic the code does not use"
    required = {
        "_schemas",
        "_mesh.products",
        "_mesh.observations",
        "_mesh.alerts",
        "_mesh.lineage",
        "_mesh.access",
        "_mesh.keys",
    }
    diagram = re.search(r"```\n(.*?)```", architecture, flags=re.S)
    assert diagram is not None
    assert sorted(required - set(re.findall(r"_schemas|_mesh\.[a-z_]+", diagram[1]))) == []
    packages = sorted(p.name for p in (ROOT / "streams").iterdir() if (p / "__init__.py").exists())
    missing = [name for name in packages if not re.search(rf"\b{name}\b", diagram[1])]
    assert missing == [], f"packages of streams/ missing from the architecture diagram: {missing}"


def test_the_reference_says_which_optional_fields_lint_requires(tmp_path: Path) -> None:
    """The model lets these fields out so that a descriptor loads; lint (GOV001) wants them."""
    from streams.governance import lint

    (tmp_path / "products" / "demo").mkdir(parents=True)
    (tmp_path / "schemas" / "demo").mkdir(parents=True)
    (tmp_path / "schemas" / "demo" / "Thing.avsc").write_text(
        '{"type": "record", "name": "Thing", "doc": "A thing.", "fields": [{"name": "event_time", '
        '"type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "When."}]}'
    )
    (tmp_path / "products" / "demo" / "things.yaml").write_text(
        "name: things\ndomain: demo\nversion: 1\nkind: source-aligned\noutputPort:\n"
        "  schema: schemas/demo/Thing.avsc\n  eventTime: event_time\n  partitions: 1\n"
    )
    wanted = {
        v.message.removeprefix("product declares no ")
        for v in lint(tmp_path)
        if v.rule_id == "GOV001-required"
    }
    assert wanted == {
        "owner",
        "description",
        "classification",
        "outputPort.retention",
        "guarantees",
    }
    rows = {
        row.split("|")[1].strip(" `"): row for row in GENERATOR.descriptor_reference().splitlines()
    }
    assert sorted(key for key in wanted if "Lint requires" not in rows[key]) == []
    said = {key for key, row in rows.items() if "Lint requires" in row}
    assert said == wanted
