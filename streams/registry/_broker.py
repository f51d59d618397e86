"""The registry's use of the broker's enforcement point (:mod:`streams.kafka.access`).

The registry is the mesh's control plane: when the admin creates, rotates or revokes a domain,
and when an owner grants or revokes access to a product, it records the change (signed, on its
topic) and then brings the broker in line through one :class:`~streams.kafka.access.BrokerAccess`
built here from the registry's own Kafka settings (it logs in as the admin, a super user) and
the broker's kind. On Tansu nothing is ever asked of the broker (its ACL API aborts the process,
BROKER.md): every change answers "not enforced by this broker". On Apache Kafka, or when the
kind is unknown, :class:`~streams.kafka.access.KafkaBrokerAccess` finds out whether the broker
has an authorizer before its first change.

The calls block; :func:`on_broker` runs them off the event loop and turns a refusal into one
Confluent-style 500 answer that says what was recorded and how to bring the broker in line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from streams.config import BrokerKind, KafkaSettings
from streams.errors import RegistryRequestError, StreamsError
from streams.kafka.access import (
    ENFORCED,
    NOT_ENFORCED,
    BrokerAccess,
    BrokerAcls,
    KafkaBrokerAccess,
    UnenforcedBrokerAccess,
)
from streams.registry import codes

__all__ = ["broker_access", "on_broker"]


def broker_access(kafka: KafkaSettings, *, broker_kind: BrokerKind | None) -> BrokerAccess:
    """The broker's enforcement point for a registry on ``kafka``.

    Args:
        kafka: The registry's own Kafka settings (as the admin on a SASL cluster).
        broker_kind: The recorded kind (``mesh up`` knows it); ``tansu`` is never asked
            anything, None asks the broker once.
    """
    if broker_kind == "tansu":
        return UnenforcedBrokerAccess()
    return KafkaBrokerAccess(kafka, broker_kind=broker_kind)


async def on_broker(
    calls: list[Callable[[], BrokerAcls]], *, recorded: str, retry: str
) -> BrokerAcls:
    """Run ``calls`` in order off the event loop; :data:`ENFORCED` when all were.

    Args:
        calls: Blocking :class:`BrokerAccess` calls.
        recorded: What the registry recorded already (for the error message).
        retry: The command that applies the change again (every call is idempotent).

    Raises:
        RegistryRequestError: 500 when the broker refused or did not answer.
    """

    def run() -> BrokerAcls:
        verdicts = [call() for call in calls]
        return ENFORCED if all(v == ENFORCED for v in verdicts) else NOT_ENFORCED

    try:
        return await asyncio.get_running_loop().run_in_executor(None, run)
    except StreamsError as exc:
        raise RegistryRequestError(
            500,
            codes.BROKER_ACCESS_FAILED,
            f"{recorded}, but the broker did not apply it: {exc}. Once the broker is back "
            f"(`mesh status`), run `{retry}` again to apply it.",
        ) from exc
