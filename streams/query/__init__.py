"""Products as tables: read a product into Arrow, or run SQL over products with DuckDB.

An analyst reads a product as a table, not a stream::

    from streams import query

    sessions = query.read("player.hourly_play_sessions")      # the latest record per key
    plays = query.read("player.play_events", since="1h")       # the events of the last hour
    top = query.sql("SELECT track_id, count(*) AS plays FROM player.play_events "
                    "GROUP BY track_id ORDER BY plays DESC LIMIT 10", since="7d")
    top.to_pandas()                                            # where pandas is installed

Names resolve through the signed catalog: ``domain.name`` is the latest active major version,
``domain.name.vN`` that version. Aggregates and compacted products give their latest record
per key (over the whole retained history unless ``since`` says otherwise); other products give
their events written in a time window (the last 24 hours unless ``since`` says otherwise).
Needs the ``query`` extra (pyarrow, duckdb): ``pip install 'streams[query]'``.
"""

from __future__ import annotations

from streams.query._deps import EXTRA_HINT, check_extra
from streams.query._read import read
from streams.query._sql import sql
from streams.query._window import EVENTS_SINCE, Time

__all__ = ["EVENTS_SINCE", "EXTRA_HINT", "Time", "check_extra", "read", "sql"]
