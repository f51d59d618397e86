"""``scripts/demo``: the music company running live on the embedded platform.

Starts a broker, the schema registry and the guarantees monitor on free ports (state in
``.mesh/demo``), runs the company for about a minute (``--minutes N``: longer) and shows what the
mesh made of it (``_demo_story.py``); ``--tour`` runs the fifteen-step tour of every capability
instead (``_demo_tour.py``). Everything the demo starts is stopped by PID when it ends, fails or
is interrupted (Ctrl-C, SIGTERM), unless ``--keep`` leaves the platform running for exploring. A
platform an earlier ``--keep`` left is stopped first, so the demo can be run again and again.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _demo_story
import _demo_tour
from _demo_guarantees import MONITOR_ENV
from _demo_steps import STATE_DIR, err, out, step

from streams.config import LocalSettings
from streams.errors import PlatformNotRunningError, StreamsError
from streams.local import PlatformInfo, start, stop

INTERRUPTED = 130


def _absolute(text: str) -> Path:
    return Path(text).absolute()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/demo", description=__doc__.split("\n\n")[0].replace("``", "")
    )
    parser.add_argument(
        "--minutes", type=float, default=None, help="run the company this long (default: 1)"
    )
    parser.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)
    # Tests give each run its own state directory, so demos can run side by side.
    parser.add_argument("--state-dir", type=_absolute, default=STATE_DIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep", action="store_true", help="leave the platform running when the demo ends"
    )
    parser.add_argument(
        "--tour", action="store_true", help="the fifteen-step tour of every capability instead"
    )
    found = parser.parse_args(argv)
    if found.minutes is not None and found.seconds is not None:
        parser.error("give --minutes or --seconds, not both")
    if (found.minutes or 1) <= 0 or (found.seconds or 1) <= 0:
        parser.error("the demo's time must be positive")
    return found


def _start(state_dir: Path, env: dict[str, str]) -> PlatformInfo:
    if (state_dir / "platform.json").exists():
        out.print(f"stopping the demo platform an earlier run left in {state_dir}")
        stop(state_dir)
    began = time.monotonic()
    settings = LocalSettings(state_dir=state_dir)
    info = start(settings, free_ports=True, env={**os.environ, **env})
    if info.admin_credential is not None:
        # The registry authenticates: the demo's `mesh` commands act as the platform's admin,
        # as the platform team would with the credential `mesh up` wrote.
        os.environ["STREAMS_IDENTITY__FILE"] = str(info.admin_credential)
    # Every `mesh` command finds this platform's broker and registry, and keeps what it writes
    # (domain credentials) in the demo's own state directory.
    os.environ["STREAMS_KAFKA__BOOTSTRAP_SERVERS"] = info.bootstrap_servers
    os.environ["STREAMS_REGISTRY__URL"] = info.registry_url
    os.environ["STREAMS_LOCAL__STATE_DIR"] = str(state_dir)
    out.print(
        f"broker   [bold]{info.bootstrap_servers}[/] (pid {info.broker_pid})\n"
        f"registry [bold]{info.registry_url}[/] (pid {info.registry_pid}, auth "
        f"{'on' if info.auth else 'off'})\n"
        f"monitor  pid [bold]{info.monitor_pid}[/] (measures every product's guarantees)\n"
        f"web      [bold]{info.web_url}[/] (pid {info.web_pid}, the catalog as web pages)\n"
        f"ready in {(time.monotonic() - began) * 1000:.0f} ms; logs in {state_dir / 'logs'}",
        highlight=False,
    )
    return info


def _stop(state_dir: Path) -> None:
    """Stop the demo's platform by its recorded PIDs, if one is recorded (an interrupted start
    stopped what it had started itself)."""
    try:
        stopped = stop(state_dir)
    except PlatformNotRunningError:
        return
    names = ", ".join(f"{s.name} pid {s.pid} {s.outcome}" for s in stopped.services)
    out.print(f"platform stopped ({names})", highlight=False)


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop everything


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    seconds = args.seconds or (args.minutes or 1.0) * 60
    # Ctrl-C stops the demo cleanly even where SIGINT was inherited ignored (a shell starts
    # background jobs so), and SIGTERM does the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _sigterm)
    began = time.monotonic()
    ok, keep, interrupted = False, False, False
    step("start the embedded platform")
    monitor = MONITOR_ENV if args.tour else _demo_story.monitor_env(seconds)
    try:
        info = _start(args.state_dir, monitor)
    except StreamsError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        _stop(args.state_dir)
        return INTERRUPTED
    try:
        if args.tour:
            ok = _demo_tour.run(info, args.state_dir / "logs")
        else:
            ok = _demo_story.run(info, seconds=seconds, keep=args.keep)
        keep = ok and args.keep
    except KeyboardInterrupt:
        interrupted = True
        err.print("[yellow]interrupted:[/] stopping everything the demo started")
    finally:
        if not keep:
            _stop(args.state_dir)
    if interrupted:
        return INTERRUPTED
    out.print(
        f"[bold green]demo complete[/] in {time.monotonic() - began:.0f} s"
        if ok
        else "[bold red]demo failed"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
