"""The registry's key service state: the KEK, the pseudonym key and ``_mesh.keys`` in memory.

The registry (running as the admin) is the only holder of the key-encryption key: producers
create data keys and send them here in batches (``POST /mesh/v1/keys/publish``); the registry
wraps them and appends ONE record per product and batch on ``_mesh.keys`` (compacted, one
partition), keyed ``<product>/batch/<batch id>``. Every value is ``seal(record, admin)`` JSON::

    {"v": 2, "product": "listeners.registrations", "kek": "<kek id>",
     "ids": ["<key id>", ...], "wrapped": "<base64>", "forgotten": ["<key id>", ...],
     "created_ms": <epoch ms>, "signed_by": "admin", "signature": "..."}

``wrapped`` is the concatenation of the batch's 32-byte keys, in ``ids`` order, wrapped ONCE by
the KEK provider with the record key as associated data: one wrap per batch, not per key.
Forgetting a data subject rewrites each batch record that holds one of its keys without them
(the remaining keys wrapped again; the subject's are in no last value of the topic), listing
their ids under ``forgotten`` so :meth:`Keyring.release` can answer them as forgotten rather
than unknown.
A record whose admin signature does not verify is ignored and logged. Per-batch records make a
new data subject cost a fraction of a record and of a round trip instead of one each
(scripts/bench events, ListenerRegistered).
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.identity import ADMIN, Credential, seal, unseal
from streams.naming import internal_topic
from streams.pii import KEY_BYTES, KeyProvider, Pseudonymizer, parse_key_id

__all__ = ["KEYS_TOPIC", "Batch", "Keyring", "Released"]

logger = logging.getLogger(__name__)

KEYS_TOPIC = internal_topic("keys")


@dataclass(slots=True)
class Batch:
    """One ``_mesh.keys`` record: the wrapped keys of one product created in one batch."""

    product: str
    kek: str
    ids: list[str]
    wrapped: str  # the keys in ``ids`` order, concatenated and wrapped, base64
    forgotten: list[str] = field(default_factory=list)
    created_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 2,
            "product": self.product,
            "kek": self.kek,
            "ids": self.ids,
            "wrapped": self.wrapped,
            "forgotten": self.forgotten,
            "created_ms": self.created_ms,
        }


@dataclass(frozen=True, slots=True)
class Released:
    """The answer to a release: clear keys, and the ids that are forgotten or unknown."""

    keys: dict[str, bytes]
    forgotten: list[str]
    unknown: list[str]


class Keyring:
    """The KEK provider, the pseudonym key and the batches of ``_mesh.keys``, in memory.

    Args:
        provider: Holds the KEK (a :class:`~streams.pii.LocalKeyProvider` under the registry's
            keys directory by default; Vault or a KMS plug in here).
        pseudonym_key: The mesh's pseudonym key (handed to producers).
        admin: Signs the records (None: records are written and read unsigned; auth off).
    """

    def __init__(
        self, *, provider: KeyProvider, pseudonym_key: bytes, admin: Credential | None
    ) -> None:
        self.provider = provider
        self.pseudonym_key = pseudonym_key
        self.pseudonyms = Pseudonymizer(pseudonym_key)
        self._admin = admin
        self.batches: dict[str, Batch] = {}
        self._where: dict[str, str] = {}  # key id -> record key
        self._forgotten: set[str] = set()
        self._clear: dict[str, bytes] = {}
        # Values this registry wrote, in order, until the log hands them back: applied already
        # (their signature need not be checked again, a JSON and Ed25519 pass per batch), and
        # an echo of a batch's old value must not bring back keys a later forget removed.
        self._written: dict[str, list[bytes]] = {}

    # --- the log ----------------------------------------------------------------------------

    def apply(self, key: bytes, value: bytes | None) -> None:
        """Apply one record read from ``_mesh.keys`` (a forged or broken one is logged)."""
        name = key.decode("utf-8", "replace")
        pending = self._written.get(name)
        if pending and pending[0] == value:
            pending.pop(0)
            if not pending:
                del self._written[name]
            return
        if value is None:
            self._drop(name)
            return
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:
            logger.warning("ignoring %s record %r: not JSON", KEYS_TOPIC, name)
            return
        if not isinstance(record, dict) or record.get("v") != 2:
            logger.warning("ignoring %s record %r: not a key batch (v 2)", KEYS_TOPIC, name)
            return
        if self._admin is not None:
            admin_key = self._admin.public_key()
            verdict = unseal(record, lambda signer: admin_key if signer == ADMIN else None)
            if not verdict.valid:
                logger.warning("ignoring %s record %r: %s", KEYS_TOPIC, name, verdict.describe())
                return
            record = dict(verdict.body)
        try:
            batch = Batch(
                product=str(record["product"]),
                kek=str(record["kek"]),
                ids=[str(k) for k in record["ids"]],
                wrapped=str(record["wrapped"]),
                forgotten=[str(k) for k in record.get("forgotten", [])],
                created_ms=int(record.get("created_ms", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("ignoring %s record %r: %s", KEYS_TOPIC, name, exc)
            return
        self._put(name, batch)

    def _drop(self, name: str) -> None:
        old = self.batches.pop(name, None)
        if old is not None:
            for kid in old.ids:
                self._where.pop(kid, None)
                self._clear.pop(kid, None)

    def _put(self, name: str, batch: Batch) -> None:
        self._drop(name)
        self.batches[name] = batch
        for kid in batch.ids:
            self._where[kid] = name
        for kid in batch.forgotten:
            self._forgotten.add(kid)
            self._clear.pop(kid, None)

    def value(self, name: str, batch: Batch) -> bytes:
        """The log value of record ``name`` holding ``batch`` (signed by the admin when there
        is one), remembered so the log's echo of it is not applied twice."""
        body = batch.to_json()
        value = orjson.dumps(seal(body, self._admin) if self._admin is not None else body)
        if len(self._written) > 10_000:
            self._written.clear()  # echoes lost (e.g. a failed write): checked again, no harm
        self._written.setdefault(name, []).append(value)
        return value

    # --- publishing -------------------------------------------------------------------------

    def wrap(self, keys: Mapping[str, bytes]) -> list[tuple[str, Batch]]:
        """New batch records for ``keys`` (key id -> clear key), one per product; not applied
        until :meth:`accept` (after Kafka acknowledged them)."""
        by_product: dict[str, dict[str, bytes]] = {}
        for kid, secret in keys.items():
            parsed = parse_key_id(kid)
            assert parsed is not None, kid  # checked by the route
            by_product.setdefault(parsed[0], {})[kid] = secret
        now = time.time_ns() // 1_000_000
        return [
            self._sealed(f"{product}/batch/{uuid.uuid4().hex}", product, clear, [], now)
            for product, clear in by_product.items()
        ]

    def _sealed(
        self,
        name: str,
        product: str,
        clear: Mapping[str, bytes],
        forgotten: list[str],
        created_ms: int,
    ) -> tuple[str, Batch]:
        blob = self.provider.wrap(b"".join(clear.values()), context=name.encode())
        batch = Batch(
            product=product,
            kek=self.provider.kek_id,
            ids=list(clear),
            wrapped=base64.b64encode(blob).decode(),
            forgotten=forgotten,
            created_ms=created_ms,
        )
        return name, batch

    def accept(self, records: Iterable[tuple[str, Batch]]) -> None:
        """Apply records this registry wrote (acknowledged by Kafka)."""
        for name, batch in records:
            self._put(name, batch)

    # --- releasing --------------------------------------------------------------------------

    def release(self, kids: Iterable[str]) -> Released:
        """The clear keys of ``kids``; forgotten and unknown ones listed apart."""
        keys: dict[str, bytes] = {}
        forgotten: list[str] = []
        unknown: list[str] = []
        for kid in kids:
            secret = self._unwrap(kid)
            if secret is not None:
                keys[kid] = secret
            elif kid in self._forgotten:
                forgotten.append(kid)
            else:
                unknown.append(kid)
        return Released(keys, forgotten, unknown)

    def _unwrap(self, kid: str) -> bytes | None:
        found = self._clear.get(kid)
        if found is not None:
            return found
        name = self._where.get(kid)
        if name is None:
            return None
        clear = self._open(name)
        if clear is None:
            return None
        self._clear.update(clear)  # the whole batch: its keys are asked for together
        return clear.get(kid)

    def _open(self, name: str) -> dict[str, bytes] | None:
        """The clear keys of batch ``name``; None (logged) when they do not unwrap."""
        batch = self.batches[name]
        try:
            blob = self.provider.unwrap(
                base64.b64decode(batch.wrapped, validate=True),
                kek_id=batch.kek,
                context=name.encode(),
            )
        except ValueError as exc:
            logger.warning("key batch %s cannot be unwrapped: %s", name, exc)
            return None
        if len(blob) != KEY_BYTES * len(batch.ids):
            logger.warning(
                "key batch %s holds %d bytes for %d keys", name, len(blob), len(batch.ids)
            )
            return None
        return {kid: blob[n * KEY_BYTES : (n + 1) * KEY_BYTES] for n, kid in enumerate(batch.ids)}

    # --- forgetting -------------------------------------------------------------------------

    def subject_keys(self, subject: str) -> dict[str, list[str]]:
        """The live key ids of data subject ``subject`` (a raw id), by record key."""
        tags = self.pseudonyms.subject_tags(subject)
        found: dict[str, list[str]] = {}
        for kid, name in self._where.items():
            parsed = parse_key_id(kid)
            if parsed is not None and parsed[1] in tags:
                found.setdefault(name, []).append(kid)
        return found

    def without(self, doomed: Mapping[str, list[str]]) -> list[tuple[str, Batch]]:
        """The batch records rewritten without the ``doomed`` key ids (record key -> ids): the
        remaining keys wrapped again.

        Raises:
            ValueError: A batch does not unwrap (another KEK): it cannot be rewritten.
        """
        rewritten = []
        for name, kids in doomed.items():
            old = self.batches[name]
            clear = self._open(name)
            if clear is None:
                raise ValueError(f"key batch {name} does not unwrap with {self.provider.kek_id}")
            gone = set(kids)
            kept = {kid: secret for kid, secret in clear.items() if kid not in gone}
            forgotten = sorted({*old.forgotten, *gone})
            rewritten.append(self._sealed(name, old.product, kept, forgotten, old.created_ms))
        return rewritten
