"""Every ```python block of README.md runs, so the examples cannot rot.

They run as a reader would run them, each in its own interpreter, from a folder outside the
repository, against a platform found through its state directory (``STREAMS_LOCAL__STATE_DIR``,
as from any subdirectory of a repository after ``mesh up``). That platform is the module's own,
not the session's: the examples use the real products (``player.play_events``), which the tests
sharing the session platform leave alone (they use uuid topics).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    settings = LocalSettings(state_dir=state_dir, monitor=False)
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
