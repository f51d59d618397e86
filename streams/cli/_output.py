"""Consoles and logging for the CLI: results on stdout, everything else on stderr."""

from __future__ import annotations

import logging
import sys
import warnings

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from streams.kafka.client import LIBRDKAFKA_LOGGER

__all__ = ["configure_logging", "err_console", "out_console", "output_option", "print_error"]


def out_console() -> Console:
    """A console on the current ``sys.stdout``, for results."""
    return Console(soft_wrap=True)


def err_console() -> Console:
    """A console on the current ``sys.stderr``, for progress, logs and errors."""
    return Console(stderr=True, soft_wrap=True)


def print_error(message: str) -> None:
    """Print the error as one red line on stderr; any further lines (a log tail) follow dimmed.

    Args:
        message: The error text; rich markup in it is not interpreted.
    """
    first, _, rest = message.partition("\n")
    line = Text("error: ", style="bold red")
    line.append(first, style="red")
    if rest:
        line.append("\n" + rest, style="dim")
    err_console().print(line)


class _RichCliHandler(RichHandler):
    """Pretty records for a terminal."""


class _BriefFormatter(logging.Formatter):
    """``warning: message``: how a command's own warnings read when no logs were asked for."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


class _PlainCliHandler(logging.Handler):
    """Plain lines for pipes, log files and CI: timestamped when logs were asked for (``-v``,
    ``--debug``, the services), else ``warning: message``.

    Writes to whatever ``sys.stderr`` is at emit time, so it follows redirections (CliRunner,
    pytest capture) instead of keeping a stale stream.
    """

    def __init__(self, *, brief: bool = False) -> None:
        super().__init__()
        self.setFormatter(
            _BriefFormatter()
            if brief
            else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


_HANDLER_TYPES = (_RichCliHandler, _PlainCliHandler)


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """A Python warning as one readable line (``warning: ...``), without the source path."""
    text = " ".join(str(message).split())
    return f"warning: {text}\n"


def configure_logging(*, debug: bool, verbose: bool = False) -> None:
    """Send ``streams`` log records to stderr; only the CLI calls this.

    Warnings and errors only by default; ``verbose`` adds INFO, ``debug`` DEBUG with paths and
    times. librdkafka's own lines (:data:`~streams.kafka.client.LIBRDKAFKA_LOGGER`) are shown
    only with ``verbose`` or ``debug``: the command reports an unreachable broker in one line.
    Python warnings (a deprecated product, ...) print as one line each.

    Args:
        debug: Log at DEBUG, with paths and times.
        verbose: Log at INFO.
    """
    package_logger = logging.getLogger("streams")
    for old in list(package_logger.handlers):
        if isinstance(old, _HANDLER_TYPES):
            package_logger.removeHandler(old)
    handler: logging.Handler
    if sys.stderr.isatty():
        # Console(stderr=True) looks sys.stderr up on every write, like _PlainCliHandler.
        handler = _RichCliHandler(
            console=Console(stderr=True), show_time=debug, show_path=debug, rich_tracebacks=debug
        )
    else:
        handler = _PlainCliHandler(brief=not (debug or verbose))
    package_logger.addHandler(handler)
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    package_logger.setLevel(level)
    logging.getLogger(LIBRDKAFKA_LOGGER).setLevel(
        level if debug or verbose else logging.CRITICAL + 1
    )
    # formatwarning, not showwarning: warnings recorded by a caller (pytest) stay untouched.
    warnings.formatwarning = _one_line_warning


output_option = click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Result format on stdout.",
)
"""``--output text|json``: the result format every command with a result takes."""
