"""What the live demo's modules share: the consoles, step titles, and ``mesh`` run as a person
would run it (on a terminal as wide as the demo's, against the demo's platform)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Literal

from rich.console import Console

from streams.local import PlatformInfo

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".mesh" / "demo"
out = Console()
err = Console(stderr=True)


def step(title: str) -> None:
    out.rule(f"[bold cyan]{title}", align="left")


class Mesh:
    """Runs ``mesh`` commands against the demo's platform, showing the command line first."""

    def __init__(self, info: PlatformInfo) -> None:
        self.exe = str(Path(sys.executable).parent / "mesh")
        self.where = [
            "--bootstrap-servers",
            info.bootstrap_servers,
            "--registry-url",
            info.registry_url,
        ]

    def run(
        self,
        shown: str,
        args: list[str],
        *,
        show: bool = True,
        stdin: str | None = None,
        where: Literal["both", "kafka", "none"] = "both",
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``mesh ARGS`` with the platform's addresses (``where``: both, or only Kafka for
        the commands that only read Kafka); print ``$ shown`` and, with ``show``, what it
        wrote. Errors (stderr) are printed when it fails."""
        out.print(f"$ {shown}", highlight=False)
        command = [self.exe, *args, *{"both": self.where, "kafka": self.where[:2]}.get(where, [])]
        env = {**os.environ, "COLUMNS": str(out.width)}
        done = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd=ROOT,
            env=env,
        )
        if show:
            out.file.write(done.stdout)  # already laid out by `mesh` at this width
            out.file.flush()
        if done.returncode not in (0, 1) or (done.returncode and not show):
            err.print(done.stderr.strip()[-3000:], highlight=False, markup=False)
        return done
