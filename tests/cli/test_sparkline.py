"""Sparklines: one character per closed hour, its height the value and its colour the state."""

from __future__ import annotations

from rich.text import Text

from streams.cli._sparkline import HOUR_MS, MISSING, sparkline

START = 1_700_000_000_000 // HOUR_MS * HOUR_MS


def hour(index: int) -> int:
    return START + index * HOUR_MS


def styles(line: Text) -> list[str]:
    """The style of each character."""
    found = [""] * len(line.plain)
    for span in line.spans:
        for index in range(span.start, span.end):
            found[index] = str(span.style)
    return found


def test_heights_follow_the_values_and_colours_the_states() -> None:
    line = sparkline(
        [[hour(0), 0, "met"], [hour(1), 50, "at_risk"], [hour(2), 100, "breached"]], width=3
    )
    assert line.plain == "▁▅█"
    assert styles(line) == ["green", "yellow", "bold red"]


def test_one_character_per_hour_oldest_first_with_dots_for_missing_hours() -> None:
    line = sparkline([[hour(0), 1.0, "met"], [hour(3), 2.0, "met"]], width=24)
    assert len(line.plain) == 24
    # The newest entry is the rightmost hour; hours 1 and 2 had no entry; the rest precede hour 0.
    assert line.plain == MISSING * 20 + "▁" + MISSING * 2 + "█"


def test_an_hour_with_nothing_observed_is_a_dot() -> None:
    line = sparkline([[hour(0), None, "at_risk"], [hour(1), 5, "met"]], width=2)
    assert line.plain == MISSING + "▁"
    assert styles(line)[0] == "dim"


def test_equal_values_are_all_low() -> None:
    line = sparkline([[hour(i), 7, "met"] for i in range(5)], width=5)
    assert line.plain == "▁" * 5


def test_newest_ms_leaves_the_hours_after_the_last_entry_empty() -> None:
    # The monitor was down for the last two hours: the line ends with two gaps.
    line = sparkline([[hour(0), 1, "met"], [hour(1), 2, "met"]], newest_ms=hour(3), width=4)
    assert line.plain == "▁█" + MISSING * 2


def test_only_the_hours_shown_set_the_scale() -> None:
    # Hour 0 (a huge value) is older than the 2 hours drawn; it must not flatten them.
    line = sparkline([[hour(0), 1_000, "met"], [hour(1), 1, "met"], [hour(2), 2, "met"]], width=2)
    assert line.plain == "▁█"


def test_no_entries_and_malformed_ones() -> None:
    assert sparkline([]).plain == "no closed hour yet"
    assert sparkline([["x", 1, "met"], [hour(0)], "nope", None]).plain == "no closed hour yet"
    assert sparkline([], newest_ms=hour(0), width=3).plain == MISSING * 3
    assert sparkline([[hour(0), True, "met"]], width=1).plain == MISSING
