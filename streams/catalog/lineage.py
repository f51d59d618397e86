"""The lineage graph between product versions: descriptors' ``inputPorts`` plus agent runs.

Nodes are product versions (``<domain>.<name>.v<major>``, their topics). An edge ``a -> b`` says
``b`` is derived from ``a``: because ``b``'s descriptor lists ``a`` as an input port
(``via="descriptor"``), or because an agent or replay that writes ``b`` read ``a``
(``via="agent"``, from ``_mesh.agent_runs``). Both sources are merged; one edge may have both.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from streams.catalog._model import Status
from streams.catalog._version import choose_version, is_versioned
from streams.catalog.agents import AgentRunRecord
from streams.catalog.store import CatalogEntry
from streams.errors import ConfigError
from streams.naming import parse_product

__all__ = ["LineageGraph", "LineageNode"]

Via = Literal["descriptor", "agent"]


@dataclass(frozen=True, slots=True)
class LineageNode:
    """A product version and its lineage in one direction, recursively.

    Attributes:
        key: ``<domain>.<name>.v<major>``.
        children: The next products in that direction (upstream: inputs; downstream: consumers).
        repeated: True when the node was already shown higher up (a cycle or a diamond): its
            children are not repeated.
    """

    key: str
    children: tuple[LineageNode, ...] = ()
    repeated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """``{"product": key, "children": [...]}`` (``"repeated": true`` when cut short)."""
        out: dict[str, Any] = {
            "product": self.key,
            "children": [c.to_dict() for c in self.children],
        }
        if self.repeated:
            out["repeated"] = True
        return out


@dataclass(slots=True)
class LineageGraph:
    """Edges ``upstream -> downstream`` between product versions, with where each came from."""

    edges: dict[tuple[str, str], set[Via]] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: Iterable[CatalogEntry], runs: Iterable[AgentRunRecord]) -> LineageGraph:
        """The graph of the published descriptors and the recorded agent runs."""
        graph = cls()
        for entry in entries:
            for port in entry.product.input_ports:
                graph.add(port.ref.topic, entry.key, "descriptor")
        for run in runs:
            for source in run.inputs:
                for target in run.outputs:
                    graph.add(source, target, "agent")
        return graph

    def add(self, upstream: str, downstream: str, via: Via) -> None:
        """Record that ``downstream`` is derived from ``upstream``."""
        self.edges.setdefault((upstream, downstream), set()).add(via)

    @property
    def nodes(self) -> set[str]:
        """Every product version on an edge."""
        return {key for edge in self.edges for key in edge}

    def inputs(self, key: str) -> list[str]:
        """The direct upstream products of ``key``, sorted."""
        return sorted(a for a, b in self.edges if b == key)

    def outputs(self, key: str) -> list[str]:
        """The direct downstream products of ``key``, sorted."""
        return sorted(b for a, b in self.edges if a == key)

    def resolve(self, name: str, *, known: Mapping[str, CatalogEntry] | Iterable[str] = ()) -> str:
        """The node for ``domain.product.vN``, or for ``domain.product`` its latest active
        version (see :func:`~streams.catalog.choose_version`).

        Args:
            name: The product as the user wrote it.
            known: Other product versions that exist: the catalog's entries (their status
                counts), or keys (versions only seen in agents' runs count as active).

        Raises:
            ConfigError: The name is malformed, or no such product is known.
        """
        ref = parse_product(name)
        entries = known if isinstance(known, Mapping) else {}
        statuses: dict[int, Status] = {}
        for key in self.nodes | set(known):
            other = parse_product(key) if is_versioned(key) else None
            if other is not None and other.id == ref.id:
                entry = entries.get(key)
                statuses[other.major] = "active" if entry is None else entry.product.status
        if statuses and (not is_versioned(name) or ref.major in statuses):
            return choose_version(name, statuses).topic
        ids = sorted({key.rsplit(".v", 1)[0] for key in self.nodes | set(known)} - {""})
        close = difflib.get_close_matches(ref.id, ids, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(
            f"no product {name!r} in the catalog or among the agents' runs; {hint}see "
            "'mesh product list', or publish it with 'mesh product apply'"
        )

    def upstream(self, key: str) -> LineageNode:
        """``key`` with its inputs, their inputs, and so on."""
        return self._walk(key, self.inputs, set())

    def downstream(self, key: str) -> LineageNode:
        """``key`` with the products derived from it, recursively."""
        return self._walk(key, self.outputs, set())

    def _walk(self, key: str, step: Any, seen: set[str]) -> LineageNode:
        if key in seen:
            return LineageNode(key, repeated=True)
        seen.add(key)
        return LineageNode(key, tuple(self._walk(k, step, seen) for k in step(key)))

    def around(self, key: str) -> dict[str, Any]:
        """The JSON form of ``key``'s lineage: nodes, edges, and both trees."""
        up, down = self.upstream(key), self.downstream(key)
        reached = _keys(up) | _keys(down)
        edges = [
            {"from": a, "to": b, "via": sorted(via)}
            for (a, b), via in sorted(self.edges.items())
            if a in reached and b in reached
        ]
        return {
            "product": key,
            "nodes": [
                {"id": k, "product": parse_product(k).id, "version": parse_product(k).major}
                for k in sorted(reached)
            ],
            "edges": edges,
            "upstream": up.to_dict()["children"],
            "downstream": down.to_dict()["children"],
        }


def _keys(node: LineageNode) -> set[str]:
    found = {node.key}
    for child in node.children:
        found |= _keys(child)
    return found
