"""SQL over products with DuckDB: product names in the query become tables.

``SELECT … FROM player.hourly_play_sessions h JOIN listeners.registrations r ON …`` names
products as the catalog does (``domain.name`` or ``domain.name.vN``; a whole name in double
quotes works too). :func:`bind` finds them with DuckDB's own tokenizer, so names inside string
literals and comments are left alone, and rewrites each as one quoted identifier; :func:`sql`
reads each product once (:func:`streams.query.read`'s rules) and registers its table under
that identifier. A dotted name is a product when its first part is a domain of the catalog, or
when it follows ``FROM`` or ``JOIN``: an unknown one there is an error naming it and its close
matches, not DuckDB's guess at a table.

The connection is in memory and has no access to files or the network
(``enable_external_access`` off): a query reads products, nothing else.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.catalog import Catalog, CatalogEntry
from streams.config import Settings, load_settings
from streams.errors import ConfigError, QueryError
from streams.query._deps import duckdb
from streams.query._read import load_catalog, table_of
from streams.query._window import Time

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Bound", "bind", "run", "sql"]

_VERSION = re.compile(r"v[1-9][0-9]*\Z")
_PART = re.compile(r"[a-z][a-z0-9_]*\Z")
_TABLE_KEYWORDS = frozenset({"from", "join"})
# Schemas DuckDB itself answers for (``FROM information_schema.tables``).
_BUILTIN = frozenset({"information_schema", "pg_catalog", "main", "temp", "system", "memory"})


@dataclass(frozen=True, slots=True)
class Bound:
    """A query with its product names rewritten.

    Attributes:
        text: The query DuckDB runs: each product name as one quoted identifier.
        tables: Identifier (the name as written, e.g. ``player.play_events``) -> the catalog
            entry of the version it names.
    """

    text: str
    tables: Mapping[str, CatalogEntry]


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str
    kind: str


def _tokens(text: str) -> list[_Token]:
    found = duckdb().tokenize(text)
    tokens = []
    for index, (start, kind) in enumerate(found):
        stop = found[index + 1][0] if index + 1 < len(found) else len(text)
        piece = text[start:stop].rstrip()
        tokens.append(_Token(start, start + len(piece), piece, kind.name))
    return tokens


def _part(token: _Token) -> str | None:
    """The identifier a token spells, if it may be part of a product name (product names may
    be SQL keywords: ``web.session``)."""
    if token.kind not in ("identifier", "keyword") or token.text.startswith('"'):
        return None
    name = token.text.lower()
    return name if _PART.match(name) else None


def bind(text: str, catalog: Catalog) -> Bound:
    """Find the products ``text`` names and rewrite them as quoted identifiers.

    Raises:
        ConfigError: A product name is not in the catalog (the message lists close matches).
        QueryError: The query cannot be tokenized.
    """
    try:
        tokens = _tokens(text)
    except duckdb().Error as exc:
        raise QueryError(f"the query cannot be read: {exc}", query=text) from exc
    domains = {entry.product.domain for entry in catalog}
    tables: dict[str, CatalogEntry] = {}
    edits: list[tuple[int, int, str]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "identifier" and token.text.startswith('"'):
            name = token.text[1:-1]
            if name.count(".") in (1, 2) and name.split(".")[0] in domains:
                tables[name] = _entry(catalog, name)
            index += 1
            continue
        parts, last = _chain(tokens, index)
        if len(parts) < 2 or (index > 0 and tokens[index - 1].text == "."):
            index += 1
            continue
        named = 3 if len(parts) >= 3 and _VERSION.match(parts[2]) else 2
        before = tokens[index - 1].text.lower() if index > 0 else ""
        table_position = before in _TABLE_KEYWORDS and parts[0] not in _BUILTIN
        if parts[0] in domains or (table_position and len(parts) <= 3):
            name = ".".join(parts[:named])
            tables[name] = _entry(catalog, name)
            end = tokens[index + 2 * (named - 1)].end
            edits.append((token.start, end, f'"{name}"'))
        index = last + 1
    rewritten = text
    for start, end, replacement in reversed(edits):
        rewritten = rewritten[:start] + replacement + rewritten[end:]
    return Bound(rewritten, tables)


def _chain(tokens: list[_Token], index: int) -> tuple[list[str], int]:
    """The identifiers joined by dots from ``tokens[index]``, and the index of the last one."""
    first = _part(tokens[index])
    if first is None:
        return [], index
    parts, last = [first], index
    while last + 2 < len(tokens) and tokens[last + 1].text == ".":
        following = _part(tokens[last + 2])
        if following is None:
            break
        parts.append(following)
        last += 2
    return parts, last


def _entry(catalog: Catalog, name: str) -> CatalogEntry:
    """The published version ``name`` means (ConfigError with close matches if none)."""
    return catalog.show(name).entry


def check_syntax(bound: Bound) -> None:
    """Parse the bound query without running it.

    Raises:
        QueryError: DuckDB's parser refused it (its message names where).
    """
    db = duckdb()
    try:
        db.extract_statements(bound.text)
    except db.Error as exc:
        raise QueryError(_message(exc), query=bound.text) from exc


def run(bound: Bound, tables: Mapping[str, pa.Table]) -> pa.Table:
    """Run a bound query over in-memory tables (by identifier).

    Raises:
        QueryError: DuckDB refused the query; the message is DuckDB's, naming the problem.
    """
    db = duckdb()
    import pyarrow as pa

    connection = db.connect(":memory:")
    try:
        for name, table in tables.items():
            connection.register(name, table)
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        result = connection.sql(bound.text)
        if result is None:  # a statement without rows (CREATE, SET, ...)
            return pa.table({})
        found: pa.Table = result.to_arrow_table()
        return found
    except db.Error as exc:
        raise QueryError(_message(exc), query=bound.text) from exc
    finally:
        connection.close()


def _message(exc: Any) -> str:
    """DuckDB's message on one line, then its pointer into the query (if any)."""
    first, _, detail = str(exc).strip().partition("\n")
    first = first.rstrip("!") or type(exc).__name__
    if type(exc).__name__ == "CatalogException" and "does not exist" in first:
        # DuckDB's "did you mean" names its own system tables: products are what is meant.
        return (
            f"the query failed: {first}; products are named <domain>.<name> or "
            "<domain>.<name>.v<N> ('mesh product list' shows them)"
        )
    detail = detail.strip()
    return f"the query failed: {first}" + (f"\n{detail}" if detail else "")


def sql(
    text: str,
    *,
    since: Time | None = None,
    until: Time | None = None,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    timeout_s: float = 30.0,
) -> pa.Table:
    """Run SQL over products with DuckDB; the result as an Arrow table.

    Each product named is read once, as :func:`streams.query.read` reads it (its latest record
    per key, or its events from ``since`` until ``until``), then the query runs in memory.

    Args:
        text: The query, e.g. ``SELECT device, sum(plays) FROM player.hourly_play_sessions
            GROUP BY device``.
        since: From when (see :func:`streams.query.read`); applies to every product named.
        until: Until when; default: the query's start, the same for every product.
        settings: Where Kafka and the registry are (default:
            :func:`~streams.config.load_settings`).
        catalog: The catalog to resolve names in (default: read it from Kafka).
        timeout_s: How long to wait for the broker without progress.

    Raises:
        ConfigError: A product is unknown (its close matches named), a time cannot be read, or
            the ``query`` extra is missing.
        QueryError: DuckDB refused the query.
        BrokerUnavailableError, RegistryUnavailableError: Kafka or the registry is down.
    """
    duckdb()  # a missing extra fails before any network call
    if not text.strip():
        raise ConfigError("the query is empty: give a SQL query, e.g. SELECT * FROM d.product")
    settings = settings or load_settings()
    catalog = catalog if catalog is not None else load_catalog(settings)
    bound = bind(text, catalog)
    check_syntax(bound)  # a typo is reported before any product is read
    now = datetime.datetime.now(datetime.UTC)
    by_key: dict[str, pa.Table] = {}
    for entry in bound.tables.values():
        if entry.key not in by_key:
            by_key[entry.key] = table_of(
                entry,
                since=since,
                until=until,
                settings=settings,
                catalog=catalog,
                now=now,
                timeout_s=timeout_s,
            )
    return run(bound, {name: by_key[entry.key] for name, entry in bound.tables.items()})
