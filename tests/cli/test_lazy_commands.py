"""`mesh` imports a command's module only when that command runs: the services `mesh up`
starts (registry serve, monitor run, web) and every `mesh` call start without the code of the
other commands."""

from __future__ import annotations

import subprocess
import sys

import click

from streams.cli import main


def test_every_listed_command_loads_under_its_name() -> None:
    ctx = click.Context(main)
    names = main.list_commands(ctx)
    assert {"up", "registry", "tail", "query", "web"} <= set(names)
    for name in names:
        command = main.get_command(ctx, name)
        assert command is not None
        assert command.name == name
    assert main.get_command(ctx, "nope") is None


def test_running_one_command_does_not_import_the_others() -> None:
    probe = (
        "import sys\n"
        "from streams.cli import main\n"
        "try:\n"
        "    main(['registry', '--help'], standalone_mode=False)\n"
        "finally:\n"
        "    print(sorted(m for m in sys.modules if m.startswith('streams.cli.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = done.stdout.strip().splitlines()[-1]
    assert "streams.cli.registry" in loaded
    for other in ("streams.cli.web", "streams.cli.query", "streams.cli.agent", "streams.cli.dlq"):
        assert other not in loaded, loaded
