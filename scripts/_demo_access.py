"""The demo's access-and-privacy tour: domain identities, a signed catalog, grants, personal
data encrypted by `emit` and revealed only to who may read it, and `mesh forget`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
from confluent_kafka import Producer as KafkaProducer
from rich.console import Console

from streams.identity import Credential, seal
from streams.local import PlatformInfo

ROOT = Path(__file__).resolve().parents[1]
out = Console()

PRODUCT = "listeners.registrations"
ANNA = "6f1c3b52-8d4e-4f0a-9b7c-1e2d3c4b5a69"
BEN = "0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d"


def step(title: str) -> None:
    out.rule(f"[bold cyan]{title}", align="left")


def _signup(user_id: str, email: str, name: str) -> dict[str, object]:
    return {
        "event_id": user_id[:-4] + "0001",
        "event_time": "2026-11-30T09:15:00Z",
        "user_id": user_id,
        "email": email,
        "display_name": name,
        "country": "DE",
        "region": "EUROPE",
        "age_band": "AGE_25_34",
        "plan": "FREE",
        "marketing_opt_in": True,
    }


def access_tour(info: PlatformInfo) -> bool:
    step("15. access and privacy: domains, a signed catalog, grants, encrypted PII, forget")
    mesh = str(Path(sys.executable).parent / "mesh")
    env = {**os.environ, "COLUMNS": str(out.width)}
    ok = True

    def run(shown: str, command: list[str], stdin: str | None = None, expect: int = 0) -> str:
        nonlocal ok
        out.print(f"$ {shown}", highlight=False)
        done = subprocess.run(
            [mesh, *command],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            cwd=ROOT,
            env=env,
        )
        text = "\n".join(part.strip() for part in (done.stdout, done.stderr) if part.strip())
        out.print(text, highlight=False)
        if done.returncode != expect:
            out.print(f"[red]exit {done.returncode}, expected {expect}")
            ok = False
        return done.stdout

    for domain in ("listeners", "marketing"):
        run(f"mesh domain create {domain}", ["domain", "create", domain])
    out.print("the registry refuses what an identity may not do (HTTP Basic, Confluent's codes):")
    anonymous = httpx.get(f"{info.registry_url}/subjects", timeout=10)
    out.print(f"  GET /subjects without credentials -> {anonymous.status_code} {anonymous.text}")
    run(
        "mesh --as marketing product apply products/listeners   # not marketing's products",
        ["--as", "marketing", "product", "apply", "products/listeners"],
        expect=1,
    )
    signups = [
        _signup(ANNA, "anna@example.com", "Anna"),
        _signup(BEN, "ben@example.com", "Ben"),
    ]
    lines = "".join(json.dumps(event) + "\n" for event in signups)
    run(
        f"mesh --as listeners produce {PRODUCT} < signups.jsonl   # email, name: encrypted",
        ["--as", "listeners", "produce", PRODUCT],
        stdin=lines,
    )
    tail = ["tail", PRODUCT, "--from-beginning", "--max", "3", "--idle-timeout", "10"]
    run(
        f"mesh --as listeners {' '.join(tail)}   # the owner reads plaintext",
        ["--as", "listeners", *tail],
    )
    run(
        f"mesh --as marketing {' '.join(tail)}   # no grant: ciphertext",
        ["--as", "marketing", *tail],
    )
    run(
        f'mesh --as marketing access request {PRODUCT} --purpose "welcome e-mails"',
        ["--as", "marketing", "access", "request", PRODUCT, "--purpose", "welcome e-mails"],
    )
    run(
        f"mesh --as listeners access grant {PRODUCT} --to marketing",
        ["--as", "listeners", "access", "grant", PRODUCT, "--to", "marketing"],
    )
    run(
        f"mesh --as marketing {' '.join(tail)}   # granted: plaintext", ["--as", "marketing", *tail]
    )
    run(
        f"mesh --as listeners forget --subject {ANNA}   # Anna asked to be forgotten",
        ["--as", "listeners", "forget", "--subject", ANNA],
    )
    run(
        f"mesh --as marketing {' '.join(tail)}   # Anna's fields are gone, Ben's are not",
        ["--as", "marketing", *tail],
    )
    out.print("someone who can write _mesh.products but holds no domain's key forges an entry:")
    forged = KafkaProducer({"bootstrap.servers": info.bootstrap_servers})
    claim = {"product": {"name": "forged_exports", "domain": "listeners"}, "schema": "{}"}
    value = seal(claim, Credential(name="listeners", secret="not-the-listeners-secret-at-all"))
    forged.produce("_mesh.products", orjson.dumps(value), b"listeners.forged_exports.v1")
    forged.flush(10)
    run(
        "mesh product show listeners.forged_exports   # ignored: not signed by listeners",
        ["product", "show", "listeners.forged_exports"],
        expect=1,
    )
    return ok
