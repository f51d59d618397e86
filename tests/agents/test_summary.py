"""The line a stopped live worker logs, and the totals `mesh agent run --workers N` prints."""

from __future__ import annotations

from streams.agents.summary import WorkerSummary


def test_one_line_says_what_was_processed_and_that_checkpoints_are_stored() -> None:
    one = WorkerSummary(
        pid=7, events=1200, updates=40, late=3, dead_letters=2, checkpoints=9, elapsed_s=12.34
    )
    assert one.line() == (
        "1200 events, 40 window updates emitted, 3 late, 2 dead letters in 12.3 s; "
        "9 checkpoints stored"
    )


def test_totals_add_up_and_take_the_longest_time() -> None:
    a = WorkerSummary(
        pid=1, events=10, updates=2, late=1, dead_letters=0, checkpoints=3, elapsed_s=5.0
    )
    b = WorkerSummary(
        pid=2, events=5, updates=1, late=0, dead_letters=4, checkpoints=2, elapsed_s=7.5
    )
    total = WorkerSummary.total([a, b])
    assert (total.events, total.updates, total.late, total.dead_letters, total.checkpoints) == (
        15,
        3,
        1,
        4,
        5,
    )
    assert total.elapsed_s == 7.5
    assert WorkerSummary.total([]).line().startswith("0 events")


def test_the_time_spent_in_batches_is_shown_per_event_when_measured() -> None:
    one = WorkerSummary(pid=7, events=2000, checkpoints=4, elapsed_s=3.0, busy_s=0.05)
    assert one.line().endswith("4 checkpoints stored; 25.0 µs per event in batches")
    total = WorkerSummary.total([one, WorkerSummary(pid=8, events=2000, busy_s=0.03)])
    assert total.busy_s == 0.08
    assert total.line().endswith("; 20.0 µs per event in batches")
