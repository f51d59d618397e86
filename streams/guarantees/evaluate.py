"""Judging what the monitor measured (a :class:`Summary`) against a descriptor's promises.

Pure: no clock (``now_ms`` is given), no I/O. Every guarantee the product promises gets one
:class:`Observation`; one it promises but that cannot be measured is named, with the reason,
under ``not_measured`` in the details of the ``volume`` observation, which every product gets
(a product without ``guarantees`` gets only that one).

Completeness is the share of events appended within the allowed lateness (the latency promise)
after their event time, except for an aggregate whose windows the monitor checks
(:attr:`Summary.windows`, see :mod:`streams.guarantees.windows`): then it is the share of the
(key, window) pairs its inputs imply, in the windows that are due, that it emitted final, and the
details name a few missing pairs. A product with inputs whose windows are not checked (hopping or
session windows, no live agent recorded yet) gets the on-time share with the reason under
``details["windows"]``.

States. A bound is *used* by the observed value: freshness, latency and usage by their
milliseconds, duplicates and dead letters by their share or count, completeness and validity by
the share of events *missing* (``1 - observed``, against ``1 - promised``). Used beyond the bound
is ``breached``; beyond 80 % of it (:data:`AT_RISK`) ``at_risk``; else ``met``. A share with no
events in the window to tell is ``at_risk``, and so is freshness before any event was seen;
latency without events is ``met`` (no event was late), and so is usage without consumer groups.
The comparisons are exact (:class:`Fraction`), so a value right on an edge is judged the same on
every machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from pydantic import JsonValue

from streams.catalog import Product, UniqueRule
from streams.guarantees.records import Alert, Guarantee, Observation, State, Unit, observation_key
from streams.guarantees.summary import GroupLag, Summary, Windows

__all__ = ["AT_RISK", "MAX_FAILURES", "alerts", "duplicate_field", "evaluate"]

AT_RISK = Fraction(4, 5)
"""The share of a bound beyond which a guarantee is at risk."""

MAX_FAILURES = 5
"""Failing records listed in a validity observation's details."""

_NO_RUN = "no live agent of this product has recorded its window in _mesh.agent_runs yet"


def duplicate_field(product: Product, fields: Iterable[str]) -> str | None:
    """The field duplicates are detected by: the descriptor's ``unique`` rule's field, else
    ``event_id`` if the schema has it (``fields``: its top-level field names), else None."""
    for rule in product.quality:
        if isinstance(rule, UniqueRule):
            return rule.field
    return "event_id" if "event_id" in set(fields) else None


@dataclass(slots=True)
class _Judged:
    guarantee: Guarantee
    promised: float | None
    observed: float | None
    unit: Unit
    state: State
    details: dict[str, JsonValue] = field(default_factory=dict)


def _state(used: Fraction, bound: Fraction) -> State:
    if used > bound:
        return "breached"
    if used > AT_RISK * bound:
        return "at_risk"
    return "met"


def _share(value: float) -> Fraction:
    """A promised share as written (``0.999`` is exactly 999/1000, not the nearest float)."""
    return Fraction(str(value))


def evaluate(
    product: Product,
    summary: Summary,
    *,
    now_ms: int,
    window_ms: int,
    usage: Sequence[GroupLag] = (),
    previous: Mapping[str, Observation] | None = None,
    duplicates_by: str | None = None,
) -> list[Observation]:
    """The observations of ``product`` over ``summary``'s span, one per guarantee.

    Args:
        product: The descriptor: its promises.
        summary: What the monitor saw of the product's topic.
        now_ms: The time of measuring (epoch ms): freshness is ``now_ms - newest_event_ms``.
        window_ms: The length of the sliding window the summary covers.
        usage: The consumer groups reading the product, with their lag.
        previous: The last observations, by :attr:`Observation.key`: a guarantee whose state
            did not change keeps its ``since_ms``.
        duplicates_by: The field duplicates were detected by (see :func:`duplicate_field`);
            None: the descriptor's ``unique`` rule's field, if any.
    """
    judged: list[_Judged] = []
    not_measured: dict[str, JsonValue] = {}
    guarantees = product.guarantees
    if guarantees is None:
        not_measured["guarantees"] = "the descriptor promises none; add 'guarantees:' to it"
    else:
        freshness_ms = guarantees.freshness * 1000
        latency_ms = guarantees.latency * 1000
        judged.append(_freshness(summary, now_ms=now_ms, promised_ms=freshness_ms))
        judged.append(_latency(summary, promised_ms=latency_ms))
        if summary.windows is not None:
            judged.append(_window_completeness(summary.windows, guarantees.completeness))
        else:
            found = _completeness(summary, guarantees.completeness, latency_ms)
            if product.kind != "source-aligned" or product.input_ports:
                reason = summary.windows_unmeasured or _NO_RUN
                found.details["windows"] = f"not measured: {reason}"
            judged.append(found)
        by = duplicates_by or duplicate_field(product, ())
        if by is None:
            not_measured["duplicates"] = (
                "no field to detect duplicates by: add a 'unique' quality rule on the event's id"
            )
        else:
            judged.append(_duplicates(summary, guarantees.max_duplicate_share, by))
        validity = product.promised_validity
        if validity is None:
            not_measured["validity"] = (
                "no quality rules besides 'unique' to check: add some, or guarantees.validity"
            )
        else:
            judged.append(_validity(summary, validity))
        judged.append(_dead_letters(summary, product.promised_dead_letters or 0, product.ref.dlq))
        judged.append(_usage(usage, promised_ms=freshness_ms))
        not_measured["availability"] = (
            f"promised {guarantees.availability:g}, not measured yet: it needs probes of the "
            "broker and the registry from outside, which the monitor does not run"
        )
    judged.append(_volume(summary, not_measured))
    return [
        _observation(product, item, now_ms=now_ms, window_ms=window_ms, previous=previous)
        for item in judged
    ]


def alerts(
    previous: Mapping[str, Observation] | None, current: Iterable[Observation]
) -> list[Alert]:
    """The changes of state from ``previous`` (by key) to ``current``.

    A guarantee observed for the first time is an alert only if it is not ``met``.
    """
    found: list[Alert] = []
    for observation in current:
        before = (previous or {}).get(observation.key)
        was = None if before is None else before.state
        if was == observation.state or (was is None and observation.state == "met"):
            continue
        found.append(
            Alert(
                product=observation.product,
                version=observation.version,
                topic=observation.topic,
                guarantee=observation.guarantee,
                previous=was,
                state=observation.state,
                promised=observation.promised,
                observed=observation.observed,
                unit=observation.unit,
                since_ms=observation.since_ms,
                measured_at_ms=observation.measured_at_ms,
            )
        )
    return found


def _observation(
    product: Product,
    item: _Judged,
    *,
    now_ms: int,
    window_ms: int,
    previous: Mapping[str, Observation] | None,
) -> Observation:
    before = (previous or {}).get(observation_key(product.topic, item.guarantee))
    since = before.since_ms if before is not None and before.state == item.state else now_ms
    return Observation(
        product=product.id,
        version=product.version,
        topic=product.topic,
        guarantee=item.guarantee,
        promised=item.promised,
        observed=item.observed,
        unit=item.unit,
        state=item.state,
        since_ms=since,
        window_ms=window_ms,
        measured_at_ms=now_ms,
        details=item.details,
    )


def _freshness(summary: Summary, *, now_ms: int, promised_ms: int) -> _Judged:
    newest = summary.newest_event_ms
    if newest is None:
        return _Judged(
            "freshness", promised_ms, None, "ms", "at_risk", {"reason": "no event seen yet"}
        )
    age = max(0, now_ms - newest)
    by_partition: dict[str, JsonValue] = {
        str(partition): max(0, now_ms - ms)
        for partition, ms in sorted(summary.newest_by_partition.items())
    }
    return _Judged(
        "freshness",
        promised_ms,
        age,
        "ms",
        _state(Fraction(age), Fraction(promised_ms)),
        {"newest_event_ms": newest, "age_by_partition_ms": by_partition},
    )


def _latency(summary: Summary, *, promised_ms: int) -> _Judged:
    details: dict[str, JsonValue] = {
        "events": summary.events,
        "p50_ms": summary.latency_p50_ms,
        "p99_ms": summary.latency_p99_ms,
    }
    p99 = summary.latency_p99_ms
    if p99 is None:
        # Not a share: no event in the window was late, so the promise holds.
        return _Judged("latency", promised_ms, None, "ms", "met", details)
    return _Judged(
        "latency", promised_ms, p99, "ms", _state(Fraction(p99), Fraction(promised_ms)), details
    )


def _no_events(guarantee: Guarantee, promised: float, details: dict[str, JsonValue]) -> _Judged:
    details["reason"] = "no events in the window to tell"
    return _Judged(guarantee, promised, None, "share", "at_risk", details)


def _completeness(summary: Summary, promised: float, allowed_lateness_ms: int) -> _Judged:
    details: dict[str, JsonValue] = {
        "events": summary.events,
        "on_time": summary.on_time,
        "late": summary.events - summary.on_time,
        "allowed_lateness_ms": allowed_lateness_ms,
    }
    if summary.events == 0:
        return _no_events("completeness", promised, details)
    missing = 1 - Fraction(summary.on_time, summary.events)
    state = _state(missing, 1 - _share(promised))
    return _Judged(
        "completeness", promised, summary.on_time / summary.events, "share", state, details
    )


def _window_completeness(windows: Windows, promised: float) -> _Judged:
    missing: list[JsonValue] = [
        {"key": m.key, "key_hash": f"{m.key_hash:016x}", "window_start_ms": m.window_start_ms}
        for m in windows.missing
    ]
    starts: list[JsonValue] = [*windows.window_starts]
    details: dict[str, JsonValue] = {
        "measure": "windows",
        "expected": windows.expected,
        "emitted": windows.emitted,
        "windows": windows.windows,
        "late": windows.late,
        "window_starts": starts,
        "missing": missing,
    }
    if windows.expected == 0:
        details["reason"] = "no due windows with input events to tell"
        return _Judged("completeness", promised, None, "share", "at_risk", details)
    missing_share = 1 - Fraction(windows.emitted, windows.expected)
    state = _state(missing_share, 1 - _share(promised))
    observed = windows.emitted / windows.expected
    return _Judged("completeness", promised, observed, "share", state, details)


def _duplicates(summary: Summary, promised: float, by: str) -> _Judged:
    details: dict[str, JsonValue] = {
        "events": summary.events,
        "duplicates": summary.duplicates,
        "field": by,
    }
    if summary.events == 0:
        return _no_events("duplicates", promised, details)
    share = Fraction(summary.duplicates, summary.events)
    state = _state(share, _share(promised))
    return _Judged(
        "duplicates", promised, summary.duplicates / summary.events, "share", state, details
    )


def _validity(summary: Summary, promised: float) -> _Judged:
    failures: list[JsonValue] = [
        {
            "partition": failure.partition,
            "offset": failure.offset,
            "field": failure.field,
            "rule": failure.rule,
            "value": failure.value,
        }
        for failure in summary.failures[:MAX_FAILURES]
    ]
    details: dict[str, JsonValue] = {
        "events": summary.events,
        "invalid": summary.invalid,
        "failures": failures,
    }
    if summary.events == 0:
        return _no_events("validity", promised, details)
    invalid = Fraction(summary.invalid, summary.events)
    state = _state(invalid, 1 - _share(promised))
    return _Judged(
        "validity", promised, 1 - summary.invalid / summary.events, "share", state, details
    )


def _dead_letters(summary: Summary, promised: int, dlq: str) -> _Judged:
    state = _state(Fraction(summary.dead_letters), Fraction(promised))
    return _Judged("dead_letters", promised, summary.dead_letters, "count", state, {"topic": dlq})


def _usage(groups: Sequence[GroupLag], *, promised_ms: int) -> _Judged:
    listed: list[JsonValue] = [
        {"group": group.group, "lag": group.lag, "lag_ms": group.lag_ms}
        for group in sorted(groups, key=lambda group: group.group)
    ]
    details: dict[str, JsonValue] = {"groups": listed}
    if not groups:
        return _Judged("usage", promised_ms, None, "ms", "met", details)
    worst = max(group.lag_ms or 0 for group in groups)
    return _Judged(
        "usage", promised_ms, worst, "ms", _state(Fraction(worst), Fraction(promised_ms)), details
    )


def _volume(summary: Summary, not_measured: dict[str, JsonValue]) -> _Judged:
    schema_ids: list[JsonValue] = [*sorted(summary.schema_ids)]
    details: dict[str, JsonValue] = {
        "events": summary.events,
        "schema_ids": schema_ids,
        "start_ms": summary.start_ms,
        "end_ms": summary.end_ms,
    }
    if not_measured:
        details["not_measured"] = not_measured
    return _Judged("volume", None, summary.events, "count", "met", details)
