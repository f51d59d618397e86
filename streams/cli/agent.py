"""``mesh agent run PRODUCT``: compute a derived product live, with faust workers."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from streams.agents.definition import definition_path
from streams.agents.options import LiveOptions
from streams.agents.summary import WorkerSummary
from streams.cli._context import connection_settings
from streams.cli._root import repository, root_option
from streams.naming import parse_product

__all__ = ["agent"]


@click.group()
def agent() -> None:
    """Derived-product agents: products/<domain>/<name>.py computed continuously."""


@agent.command()
@click.argument("product")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes of one group; they split the product's partitions.",
)
@root_option
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=LiveOptions().batch_size,
    show_default=True,
    help="Most events per batch (one checkpoint per batch and task).",
)
@click.option(
    "--batch-within",
    type=click.FloatRange(min=0.01),
    default=LiveOptions().batch_within_s,
    show_default=True,
    help="Seconds to wait for a batch to fill.",
)
@click.option(
    "--idle-check",
    type=click.FloatRange(min=0.1),
    default=LiveOptions().idle_check_s,
    show_default=True,
    help="Seconds between checks for windows held open only by idle partitions.",
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(min=0.1),
    default=LiveOptions().lineage_every_s,
    show_default=True,
    help="Seconds between OpenLineage RUNNING events (a run silent for 2.5 of them is lost).",
)
@click.option("--bootstrap-servers", default=None, help="Kafka address [default: settings].")
@click.option("--registry-url", default=None, help="Schema registry URL [default: settings].")
@click.option("--profile", default=None, help="A named settings profile (mesh.toml).")
def run(
    product: str,
    workers: int,
    root: Path | None,
    batch_size: int,
    batch_within: float,
    idle_check: float,
    heartbeat: float,
    bootstrap_servers: str | None,
    registry_url: str | None,
    profile: str | None,
) -> None:
    """Run PRODUCT's agent (say player.hourly_play_sessions) until Ctrl-C or SIGTERM.

    Its code is products/<domain>/<name>.py in the repository (--root, or the nearest folder
    above holding products/ or schemas/). Workers started elsewhere with the same PRODUCT join
    the same group. Exact after a crash: a restarted worker resumes from its tasks'
    checkpoints. When stopped, each worker logs what it processed and a summary is
    printed.
    """
    settings = connection_settings(
        bootstrap_servers=bootstrap_servers, registry_url=registry_url, profile=profile
    )
    path = definition_path(repository(root), parse_product(product))
    options = LiveOptions(
        batch_size=batch_size,
        batch_within_s=batch_within,
        idle_check_s=idle_check,
        lineage_every_s=heartbeat,
    )
    # faust takes about a second to import: only this command pays for it, not every `mesh`.
    from streams.agents.live import run_worker, run_workers

    if workers == 1:
        summary = run_worker(path, settings=settings, options=options)
        _summarize(product, [summary], workers=1)
        return
    code, summaries = run_workers(path, workers=workers, settings=settings, options=options)
    _summarize(product, summaries, workers=workers)
    sys.exit(code)


def _summarize(product: str, summaries: list[WorkerSummary], *, workers: int) -> None:
    """One line on stdout: the totals of the workers that stopped cleanly."""
    total = WorkerSummary.total(summaries)
    clean = f"{len(summaries)} of {workers} workers" if workers > 1 else "1 worker"
    click.echo(f"{product}: stopped ({clean} stopped cleanly): {total.line()}")
