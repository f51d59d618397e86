"""``mesh query "SELECT …"``: SQL over products (DuckDB), printed as a table or written as JSON,
CSV or Parquet. The command only parses options and writes the result: the reading and the
SQL are :func:`streams.query.sql`'s."""

from __future__ import annotations

import base64
import datetime
import decimal
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click
import orjson
from rich.table import Table
from rich.text import Text

from streams.cli._context import connection_settings
from streams.cli._output import err_console, out_console
from streams.query import check_extra, sql

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["query_command"]

Output = Literal["table", "json", "csv", "parquet"]

SHOWN = 200
"""Rows printed as a table; the other formats write them all."""


@click.command("query")
@click.argument("text", metavar="SQL")
@click.option(
    "--since",
    default=None,
    metavar="TIME",
    help="Read records written since TIME: a duration back from now (30m, 1h, 7d), a UTC date "
    "and time (2026-11-30T10:00) or 'all' [default: events of the last 24h; aggregates and "
    "compacted products: their whole history, latest record per key].",
)
@click.option(
    "--until",
    default=None,
    metavar="TIME",
    help="Read records written before TIME (same forms) [default: when the query starts].",
)
@click.option(
    "--output",
    type=click.Choice(["table", "json", "csv", "parquet"]),
    default="table",
    show_default=True,
    help="Result format; parquet needs --out.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the result to FILE instead of stdout.",
)
@click.option("--bootstrap-servers", default=None, help="Kafka address [default: settings].")
@click.option("--registry-url", default=None, help="Schema registry URL [default: settings].")
def query_command(
    text: str,
    since: str | None,
    until: str | None,
    output: Output,
    out: Path | None,
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Run SQL over products: name them as in the catalog (domain.name, or domain.name.vN).

    \b
      mesh query "SELECT device, sum(plays) AS plays FROM player.hourly_play_sessions
                  GROUP BY device ORDER BY plays DESC"
      mesh query "SELECT * FROM player.play_events" --since 1h --output csv --out plays.csv

    Aggregates and compacted products are their latest record per key; event products are
    the events written from --since until --until. Several products can be joined. Records
    that cannot be decoded are skipped with a warning. Needs the 'query' extra (duckdb, pyarrow).
    """
    if output == "parquet" and out is None:
        raise click.UsageError("--output parquet writes a file: give --out FILE.parquet")
    if output == "table" and out is not None:
        raise click.UsageError("--out writes json, csv or parquet: add --output csv (or json)")
    check_extra()
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    table = sql(text, since=since, until=until, settings=settings)
    if output == "table":
        _print_table(table)
    elif output == "parquet":
        import pyarrow.parquet as pq

        assert out is not None
        pq.write_table(table, out)
    else:
        data = _json(table) if output == "json" else _csv(table)
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            out.write_bytes(data)
    if out is not None:
        err_console().print(f"wrote {table.num_rows} row(s) to {out}", highlight=False)


def _print_table(table: pa.Table) -> None:
    import pyarrow as pa

    shown = Table()
    widths = [len(field.name) for field in table.schema]
    for field in table.schema:
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        numeric = numeric or pa.types.is_decimal(field.type)
        shown.add_column(Text(field.name), justify="right" if numeric else "left")
    for row in table.slice(0, SHOWN).to_pylist():
        cells = [_cell(value) for value in row.values()]
        widths = [max(width, len(cell)) for width, cell in zip(widths, cells, strict=True)]
        # Text, not str: a value such as "[red]" is data, not rich markup.
        shown.add_row(*(Text(cell) for cell in cells))
    console = out_console()
    console.print(shown)
    more = table.num_rows - SHOWN
    note = f"{table.num_rows} row(s)" + (
        f", the first {SHOWN} shown: --output csv or json gives them all" if more > 0 else ""
    )
    if sum(widths) + 3 * len(widths) + 1 > console.width:  # cells, padding and borders
        note += (
            f"; {table.num_columns} columns do not fit in {console.width} characters, so "
            "values are cut: select fewer columns, or --output json or csv gives them whole"
        )
    err_console().print(note, highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, str | int | float | decimal.Decimal | datetime.date | datetime.time):
        return str(value)
    return _text(value)


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


def _text(value: Any) -> str:
    """A value as one JSON-like text (nested values as JSON)."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=_default).decode()


def _json(table: pa.Table) -> bytes:
    """The rows as a JSON array of objects (timestamps ISO 8601, bytes base64)."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(table.to_pylist(), default=_default, option=options) + b"\n"


def _csv(table: pa.Table) -> bytes:
    """The rows as CSV with a header; nested columns (structs, lists, maps) as JSON text."""
    import pyarrow as pa
    import pyarrow.csv as csv

    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            column = pa.array(
                [None if v is None else _text(v) for v in column.to_pylist()], type=pa.string()
            )
        columns.append(column)
    flat = pa.table(columns, names=table.column_names)
    buffer = io.BytesIO()
    csv.write_csv(flat, buffer)
    return buffer.getvalue()
