"""Settings for commands that talk to Kafka and the registry.

Precedence: flags > environment / ``.env`` > a ``--profile`` > the platform ``mesh up`` started
(read from its state file, so ``mesh up --free-ports`` needs no further configuration) > defaults.
"""

from __future__ import annotations

from streams.config import Settings, load_settings
from streams.local import status

__all__ = ["connection_settings"]


def connection_settings(
    *,
    bootstrap_servers: str | None = None,
    registry_url: str | None = None,
    profile: str | None = None,
) -> Settings:
    """Settings whose Kafka and registry addresses follow the precedence above."""
    settings = load_settings(profile=profile)
    kafka = settings.kafka
    registry = settings.registry
    running = status(settings.local.state_dir)
    if running.running:
        broker, service = running.services[0], running.services[1]
        if "bootstrap_servers" not in kafka.model_fields_set and broker.address:
            kafka = kafka.model_copy(update={"bootstrap_servers": broker.address})
        if "url" not in registry.model_fields_set and service.address:
            registry = registry.model_copy(update={"url": service.address})
    if bootstrap_servers:
        kafka = kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
    if registry_url:
        registry = registry.model_copy(update={"url": registry_url})
    return settings.model_copy(update={"kafka": kafka, "registry": registry})
