"""Derived products: definitions, the event-time windowing engine, and its state.

A domain defines a derived product in ``products/<domain>/<name>.py``
(:class:`~streams.agents.definition.DerivedProduct`); the pure
:class:`~streams.agents.engine.Task` computes it, the same for live agents and replays.
"""
