"""Guarantees measured continuously: each product's promises beside what the monitor observed.

The monitor publishes one :class:`Observation` per product and guarantee (freshness, latency,
completeness, duplicates, validity, dead_letters, usage, and volume) to the compacted topic
``_mesh.observations``, judged ``met``, ``at_risk`` or ``breached``; every change of state is
also an :class:`Alert` on ``_mesh.alerts``. Read them with :func:`observations` and
:func:`alerts`::

    from streams.guarantees import alerts, observations

    breached = [o for o in observations(settings=settings) if o.state == "breached"]
    for alert in alerts(settings=settings, follow=True):
        print(alert.topic, alert.guarantee, alert.previous, "->", alert.state)

:func:`evaluate` judges a :class:`Summary` (what was measured) against a descriptor; it is pure.

Completeness is the share of events on time, except for an aggregate computed by a live agent
with tumbling windows (its run on ``_mesh.agent_runs`` says so): then it is the share of the
(key, window) pairs its inputs imply, in windows that are due, that it emitted final
(:mod:`streams.guarantees.windows`; :mod:`streams.guarantees.aggregates` says which products).
"""

from __future__ import annotations

from streams.guarantees.evaluate import duplicate_field, evaluate
from streams.guarantees.publish import ObservationPublisher
from streams.guarantees.read import alerts, observations
from streams.guarantees.records import (
    GUARANTEES,
    STATES,
    Alert,
    Guarantee,
    Observation,
    State,
    Unit,
    observation_key,
)
from streams.guarantees.summary import Failure, GroupLag, Summary

__all__ = [
    "GUARANTEES",
    "STATES",
    "Alert",
    "Failure",
    "GroupLag",
    "Guarantee",
    "Observation",
    "ObservationPublisher",
    "State",
    "Summary",
    "Unit",
    "alerts",
    "duplicate_field",
    "evaluate",
    "observation_key",
    "observations",
]
