"""`mesh up` starts the web catalog as a service; `mesh status` shows it, `mesh down` stops it."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import CliRunner

from streams.cli import main


@pytest.mark.timeout(90)
def test_up_starts_the_web_catalog_status_shows_it_down_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMS_LOCAL__WEB", "true")
    monkeypatch.delenv("STREAMS_IDENTITY__FILE", raising=False)
    runner = CliRunner()
    state = ["--state-dir", str(tmp_path)]
    up = runner.invoke(main, ["up", "--free-ports", "--no-monitor", "--output", "json", *state])
    try:
        assert up.exit_code == 0, up.output
        info = json.loads(up.output)
        url, pid = info["web_url"], info["web_pid"]
        assert psutil.Process(pid).is_running()
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
            assert client.get("/healthz").json()["ok"] is True
            assert "streams catalog" in client.get("/").text
            assert client.get("/api/lineage").json()["nodes"] == []
        status = runner.invoke(main, ["status", "--output", "json", *state])
        services = json.loads(status.output)["services"]
        assert [(s["name"], s["state"]) for s in services] == [
            ("broker", "running"),
            ("registry", "running"),
            ("monitor", "stopped"),
            ("web", "running"),
        ]
        assert services[3]["address"] == url
        assert (tmp_path / "logs" / "web.log").exists()

        os.kill(pid, signal.SIGKILL)  # a dead catalog is started again, on its address
        psutil.Process(pid).wait(timeout=10)
        again = runner.invoke(main, ["up", "--no-monitor", "--output", "json", *state])
        assert again.exit_code == 0, again.output
        restarted = json.loads(again.output)
        assert restarted["web_url"] == url
        assert restarted["web_pid"] != pid
        pid = restarted["web_pid"]
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
            assert client.get("/healthz").status_code == 200
    finally:
        down = runner.invoke(main, ["down", "--output", "json", *state])
    stopped = {s["name"]: s["outcome"] for s in json.loads(down.output)["services"]}
    assert stopped["web"] in ("stopped", "killed")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_no_web_leaves_it_out(tmp_path: Path) -> None:
    runner = CliRunner()
    help_text = runner.invoke(main, ["up", "--help"]).output
    assert "--no-web" in help_text
    assert "--web-port" in help_text
    refused = runner.invoke(main, ["up", "--free-ports", "--web-port", "8999"])
    assert refused.exit_code == 2
    assert "--web-port" in refused.output
