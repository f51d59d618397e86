"""``mesh access request|grant|revoke|list`` and the access shown by ``mesh product show``,
against the session platform (its registry authenticates; the session's shell is the admin,
domains act with ``mesh --as NAME``)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from streams.catalog import CatalogStore
from streams.cli import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, main
from streams.config import Settings
from streams.identity import generate_credential, write_credential
from streams.local import PlatformInfo
from tests.catalog._entries import descriptor, entry


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "state"


class Domains:
    """Three fresh domains on the session platform: an owner, a consumer and another."""

    def __init__(self, platform: PlatformInfo) -> None:
        self.url = platform.registry_url
        self.bootstrap = platform.bootstrap_servers
        tag = uuid.uuid4().hex[:8]
        self.owner, self.consumer, self.other = (f"{p}{tag}" for p in ("own", "use", "oth"))
        for name in (self.owner, self.consumer, self.other):
            created = self.mesh(None, "domain", "create", name)
            assert created.exit_code == EXIT_OK, created.output
        self.product = f"{self.owner}.play_events"

    def mesh(self, who: str | None, *args: str, env: dict[str, str] | None = None) -> Result:
        as_ = [] if who is None else ["--as", who]
        return CliRunner().invoke(main, [*as_, *args, "--registry-url", self.url], env=env)

    def access(self, who: str | None, *args: str) -> Result:
        if args[0] in ("request", "grant"):  # reads the catalog
            args = (*args, "--bootstrap-servers", self.bootstrap)
        return self.mesh(who, "access", *args)

    def listed(self) -> list[dict[str, Any]]:
        result = self.access(None, "list", self.product, "--output", "json")
        assert result.exit_code == EXIT_OK, result.output
        found: list[dict[str, Any]] = json.loads(result.stdout)
        return found


@pytest.fixture
def domains(platform: PlatformInfo, state_dir: Path) -> Domains:
    return Domains(platform)


def _one_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_request_grant_list_and_revoke(domains: Domains) -> None:
    asked = domains.access(domains.consumer, "request", domains.product, "--purpose", "charts")
    assert asked.exit_code == EXIT_OK, asked.output
    assert f"mesh access grant {domains.product} --to {domains.consumer}" in asked.stdout
    assert f"{domains.product} is not in the catalog (yet)" in asked.stderr
    assert [(r["consumer"], r["state"]) for r in domains.listed()] == [
        (domains.consumer, "requested")
    ]
    granted = domains.access(domains.owner, "grant", domains.product, "--to", domains.consumer)
    assert granted.exit_code == EXIT_OK, granted.output
    assert "granted" in granted.stdout
    assert "purpose: charts" in granted.stdout
    assert "broker ACLs" in granted.stdout
    record = domains.listed()[0]
    assert (record["state"], record["purpose"], record["by"]) == (
        "granted",
        "charts",
        domains.owner,
    )
    table = domains.access(domains.other, "list")  # 80 columns
    assert table.exit_code == EXIT_OK, table.output
    assert domains.consumer in table.stdout
    assert domains.product in table.stdout
    assert "granted" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    revoked = domains.access(
        domains.owner, "revoke", domains.product, "--from", domains.consumer, "--output", "json"
    )
    assert revoked.exit_code == EXIT_OK, revoked.output
    assert json.loads(revoked.stdout)["state"] == "revoked"
    assert domains.listed()[0]["state"] == "revoked"


def test_another_domain_granting_is_refused_in_one_line(domains: Domains) -> None:
    domains.access(domains.consumer, "request", domains.product, "--purpose", "charts")
    refused = domains.access(domains.other, "grant", domains.product, "--to", domains.consumer)
    assert refused.exit_code == EXIT_FAILED
    line = _one_line(refused)
    assert f"'{domains.other}'" in line
    assert domains.product in line
    assert f"'{domains.owner}'" in line
    assert domains.listed()[0]["state"] == "requested"


def test_the_admin_grants_any_product_and_versions_are_covered(domains: Domains) -> None:
    granted = domains.access(
        None, "grant", f"{domains.product}.v2", "--to", domains.other, "--purpose", "audit"
    )
    assert granted.exit_code == EXIT_OK, granted.output
    assert f"every version of {domains.product}" in granted.stderr
    assert [(r["consumer"], r["by"]) for r in domains.listed()] == [(domains.other, "admin")]


def test_unknown_identity_unreachable_registry_and_bad_names(
    domains: Domains, tmp_path: Path, closed_url: str
) -> None:
    stranger = write_credential(generate_credential("stranger"), tmp_path / "stranger.json")
    unknown = domains.mesh(None, "access", "list", env={"STREAMS_IDENTITY__FILE": str(stranger)})
    assert unknown.exit_code == EXIT_FAILED
    assert "'stranger'" in _one_line(unknown)
    down = CliRunner().invoke(main, ["access", "list", "--registry-url", closed_url])
    assert down.exit_code == EXIT_UNREACHABLE
    _one_line(down)
    bad = domains.access(domains.consumer, "request", "Player", "--purpose", "x")
    assert bad.exit_code == EXIT_USAGE
    assert "<domain>.<product>" in bad.output
    missing = domains.access(domains.consumer, "request", domains.product)
    assert missing.exit_code == EXIT_USAGE


def test_product_show_lists_consumers_with_state_and_purpose(
    domains: Domains, settings: Settings, platform: PlatformInfo
) -> None:
    with CatalogStore(settings=settings) as store:
        store.publish(entry(descriptor(domains.owner)))
    domains.access(domains.consumer, "request", domains.product, "--purpose", "weekly charts")
    domains.access(domains.other, "request", domains.product, "--purpose", "ads")
    domains.access(domains.owner, "grant", domains.product, "--to", domains.consumer)
    show = ["product", "show", domains.product, "--bootstrap-servers", platform.bootstrap_servers]
    env = {"STREAMS_REGISTRY__URL": platform.registry_url, "COLUMNS": "250"}
    as_json = CliRunner().invoke(main, [*show, "--output", "json"], env=env)
    assert as_json.exit_code == EXIT_OK, as_json.output
    found = json.loads(as_json.stdout)["access"]
    assert [(r["consumer"], r["state"], r["purpose"]) for r in found] == sorted(
        [(domains.consumer, "granted", "weekly charts"), (domains.other, "requested", "ads")]
    )
    text = CliRunner().invoke(main, show, env=env)
    assert text.exit_code == EXIT_OK, text.output
    access = text.stdout[text.stdout.index("access") :]
    assert domains.consumer in access
    assert "weekly charts" in access
    assert "requested" in access


def test_a_request_for_an_internal_product_says_no_grant_is_needed(
    domains: Domains, settings: Settings
) -> None:
    with CatalogStore(settings=settings) as store:
        store.publish(entry(descriptor(domains.owner, classification="internal")))
    asked = domains.access(domains.consumer, "request", domains.product, "--purpose", "charts")
    assert asked.exit_code == EXIT_OK, asked.output
    assert f"{domains.product} is internal: every domain reads it without a grant" in asked.stderr
    assert domains.listed()[0]["state"] == "requested"


def test_granting_a_product_the_catalog_does_not_know_says_so(domains: Domains) -> None:
    # A typo in the product name is granted (grants may come before publication), not silently.
    granted = domains.access(
        domains.owner, "grant", domains.product, "--to", domains.consumer, "--purpose", "x"
    )
    assert granted.exit_code == EXIT_OK, granted.output
    assert f"note: {domains.product} is not in the catalog (yet)" in granted.stderr
