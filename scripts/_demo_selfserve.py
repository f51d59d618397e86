"""The demo's self-serve tour: a new product in one command, fed and read from a shell, and the
dead letters the earlier steps left, looked at with `mesh dlq show`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from streams.local import PlatformInfo

ROOT = Path(__file__).resolve().parents[1]
out = Console()

SAMPLE = {
    "partner_id": "0b9c1c2e-7d3a-4c1e-9a57-2f1d0e8b6a41",
    "seats": 12,
    "signed_up_at": "2026-11-30T09:15:00Z",
}


def step(title: str) -> None:
    out.rule(f"[bold cyan]{title}", align="left")


def selfserve_tour(info: PlatformInfo) -> bool:
    step("14. self-serve: `mesh product new` writes a product; apply, produce, tail; `mesh dlq`")
    mesh = str(Path(sys.executable).parent / "mesh")
    where = ["--bootstrap-servers", info.bootstrap_servers, "--registry-url", info.registry_url]
    env = {**os.environ, "COLUMNS": str(out.width)}
    ok = True
    with tempfile.TemporaryDirectory(prefix="mesh-demo-") as scratch:
        # A scratch copy of the repository's products, so the demo leaves the checkout as it was;
        # a name of its own, so a product made while trying the README does not collide.
        root = Path(scratch)
        for name in ("products", "schemas"):
            shutil.copytree(ROOT / name, root / name)
        shutil.copy(ROOT / "governance.yaml", root / "governance.yaml")
        (root / "signup.json").write_text(json.dumps(SAMPLE))

        def run(shown: str, command: list[str], stdin: str | None = None) -> bool:
            out.print(f"$ {shown}", highlight=False)
            done = subprocess.run(
                [mesh, *command],
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
                cwd=root,
                env=env,
            )
            text = "\n".join(part.strip() for part in (done.stdout, done.stderr) if part.strip())
            out.print(text, highlight=False)
            return done.returncode == 0

        ok &= run(
            "mesh product new partners.trial_signups --from-json signup.json",
            ["product", "new", "partners.trial_signups", "--from-json", "signup.json"],
        )
        ok &= run(
            "mesh product apply products/partners/trial_signups.yaml",
            ["product", "apply", "products/partners/trial_signups.yaml", *where],
        )
        events = [
            {"event_id": "7d1f0c3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f", **SAMPLE},
            {"event_id": "8e2a1d4f-2b3c-4d5e-9f0a-1b2c3d4e5f60", **SAMPLE, "seats": 3},
        ]
        for event in events:
            event["event_time"] = "2026-11-30T09:15:00Z"  # ISO 8601 as tail prints it
        lines = "".join(json.dumps(event) + "\n" for event in events)
        ok &= run(
            "mesh produce partners.trial_signups < signups.jsonl",
            ["produce", "partners.trial_signups", *where],
            lines,
        )
        ok &= run(
            "mesh tail partners.trial_signups --from-beginning --max 2",
            ["tail", "partners.trial_signups", "--from-beginning", "--max", "2", *where],
        )
        # Step 8 left undecodable PlayEvents in player.play_events.v1.dlq: look at them.
        ok &= run("mesh dlq show player.play_events", ["dlq", "show", "player.play_events", *where])
    return ok
