"""``/mesh/v1/keys``: the key service of PII field protection (the registry holds the KEK).

- ``GET  /mesh/v1/keys/pseudonym`` (any identity) -> ``{"key": "<base64>"}``: the mesh's
  pseudonym key, which every producer needs to pseudonymize join keys the same way.
- ``POST /mesh/v1/keys/publish`` ``{"ids": [KEY_ID, ...], "keys": "<base64>"}`` (``keys``: the
  32-byte keys concatenated in ``ids`` order; the domain owning every key's product, or the
  admin) -> ``{"published": N, "records": R}`` once ``_mesh.keys`` acknowledged them: the
  registry wraps the new data keys of one producer batch with its KEK and writes one record per
  product (:mod:`._keyring`).
- ``POST /mesh/v1/keys/release`` ``{"product": ID, "key_ids": [...]}`` -> ``{"ids": [...],
  "keys": "<base64, concatenated as above>", "forgotten": [...], "unknown": [...]}`` when
  ``may_read(caller, product, classification)`` allows, else 403.
- ``POST /mesh/v1/keys/forget`` ``{"subject": RAW_ID}`` (the admin, or a domain owning a
  product that holds keys of that subject) -> ``{"subject", "keys": N, "products": [...]}``:
  every key of that data subject, in every product, is shredded.

The gate (:mod:`._auth`) only authenticates these routes; they authorize ``request.caller``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from streams.errors import RegistryRequestError
from streams.identity import ADMIN
from streams.pii import KEY_BYTES, parse_key_id
from streams.registry import codes
from streams.registry._auth import forbidden
from streams.registry._domains import DomainLog
from streams.registry._keyring import KEYS_TOPIC, Batch, Keyring
from streams.registry._query import read_body
from streams.registry._wire import Request, Response

__all__ = ["Classify", "KeyRoutes", "MayRead", "may_read_default", "unknown_classification"]

Result = Any
# More keys than a producer creates between two polls at any realistic rate.
_MAX_BATCH = 100_000


MayRead = Callable[[str | None, str, str | None], bool]
"""Whether ``caller`` (None: the registry runs without authentication) may have the data keys
of ``product`` (an id) released, given its classification: the registry's grants
(:meth:`streams.registry._access.AccessBook.may_read`) or :func:`may_read_default`."""


Classify = Callable[[str], str | None]
"""A product id's classification (``public``, ``internal``, ``confidential``, ``restricted``),
None when unknown (treated as neither public nor internal)."""


def may_read_default(caller: str | None, product: str, classification: str | None) -> bool:
    """The admin, the owning domain, or any identity for a public or internal product; without
    authentication (``caller`` None) anyone."""
    if caller is None or caller == ADMIN:
        return True
    if product.partition(".")[0] == caller:
        return True
    return classification in ("public", "internal")


def unknown_classification(product: str) -> str | None:
    """The default :data:`Classify`: no classification known."""
    return None


def _unprocessable(message: str) -> RegistryRequestError:
    return RegistryRequestError(422, codes.UNPROCESSABLE, message)


class KeyRoutes:
    """The routes over a :class:`Keyring` and its log.

    Args:
        keyring: The KEK, the pseudonym key and the batches in memory.
        log: Where records are appended (``_mesh.keys``).
        may_read: Who may have keys released (default :func:`may_read_default`).
        classify: A product's classification (default: unknown).
    """

    def __init__(
        self,
        *,
        keyring: Keyring,
        log: DomainLog,
        may_read: MayRead = may_read_default,
        classify: Classify = unknown_classification,
    ) -> None:
        self.keyring = keyring
        self.log = log
        self.may_read = may_read
        self.classify = classify

    def install(self, add: Callable[[str, str, Callable[..., Any]], None]) -> None:
        """Register the routes with the API's ``add``."""
        add("GET", r"/mesh/v1/keys/pseudonym", self.pseudonym)
        add("POST", r"/mesh/v1/keys/publish", self.publish)
        add("POST", r"/mesh/v1/keys/release", self.release)
        add("POST", r"/mesh/v1/keys/forget", self.forget)

    def pseudonym(self, request: Request) -> Result:
        return {"key": base64.b64encode(self.keyring.pseudonym_key).decode()}

    async def publish(self, request: Request) -> Result:
        caller = request.caller
        body = read_body(request)
        kids, encoded = body.get("ids"), body.get("keys")
        secrets_ = _concatenated(encoded)
        if (
            not isinstance(kids, list)
            or len(kids) > _MAX_BATCH
            or not all(isinstance(kid, str) for kid in kids)
            or secrets_ is None
            or len(secrets_) != KEY_BYTES * len(kids)
        ):
            raise _unprocessable(
                f'Send {{"ids": [KEY_ID, ...], "keys": BASE64}}: at most {_MAX_BATCH} ids and '
                f"their {KEY_BYTES}-byte keys concatenated in that order (the Producer does)."
            )
        keys: dict[str, bytes] = {}
        for n, kid in enumerate(kids):
            product = parse_key_id(kid)
            if product is None:
                raise _unprocessable(f"{kid!r} is not a key id (<product>/<subject>/<serial>).")
            owner = product[0].partition(".")[0]
            if caller is not None and caller not in (ADMIN, owner):
                return forbidden(
                    f"Forbidden: identity {caller!r} may not publish data keys of product "
                    f"{product[0]!r}: it belongs to domain {owner!r}; emit only to your own "
                    "products."
                )
            keys[kid] = secrets_[n * KEY_BYTES : (n + 1) * KEY_BYTES]
        records = self.keyring.wrap(keys)
        await self._write(records)
        return {"published": len(keys), "records": len(records)}

    async def release(self, request: Request) -> Result:
        body = read_body(request)
        product, kids = body.get("product"), body.get("key_ids")
        if (
            not isinstance(product, str)
            or not isinstance(kids, list)
            or not all(isinstance(kid, str) for kid in kids)
        ):
            raise _unprocessable('Send {"product": PRODUCT_ID, "key_ids": [KEY_ID, ...]}.')
        caller = request.caller
        classification = self.classify(product)
        if not self.may_read(caller, product, classification):
            return forbidden(
                f"Forbidden: identity {caller!r} may not read the protected fields of product "
                f"{product!r} ({classification or 'unclassified'}); ask its owner for a grant "
                f"(`mesh access request {product} --purpose ...`)."
            )
        own = [kid for kid in kids if (parse_key_id(kid) or ("",))[0] == product]
        released = self.keyring.release(own)
        mine = set(own)
        return {
            "ids": list(released.keys),
            "keys": base64.b64encode(b"".join(released.keys.values())).decode(),
            "forgotten": released.forgotten,
            "unknown": released.unknown + [kid for kid in kids if kid not in mine],
        }

    async def forget(self, request: Request) -> Result | Response:
        subject = read_body(request).get("subject")
        if not isinstance(subject, str) or not subject:
            raise _unprocessable('Send {"subject": USER_ID} (`mesh forget --subject USER_ID`).')
        caller = request.caller
        doomed = self.keyring.subject_keys(subject)
        products = sorted({self.keyring.batches[name].product for name in doomed})
        owners = {product.partition(".")[0] for product in products}
        if caller is not None and caller != ADMIN and caller not in owners:
            if not doomed:
                return {"subject": subject, "keys": 0, "products": []}
            return forbidden(
                f"Forbidden: identity {caller!r} owns none of the products holding keys of "
                f"this data subject ({', '.join(products)}); their owners or the admin may "
                "forget it."
            )
        try:
            records = self.keyring.without(doomed)
        except ValueError as exc:  # a batch wrapped by a KEK this registry does not hold
            raise RegistryRequestError(
                500, codes.STORE_ERROR, f"Cannot forget {subject!r}: {exc}; restore that KEK."
            ) from exc
        await self._write(records)
        return {
            "subject": subject,
            "keys": sum(len(kids) for kids in doomed.values()),
            "products": products,
        }

    async def _write(self, records: list[tuple[str, Batch]]) -> None:
        try:
            for name, batch in records:
                await self.log.write(name.encode(), self.keyring.value(name, batch))
        except Exception as exc:
            raise RegistryRequestError(
                500,
                codes.STORE_ERROR,
                f"Kafka did not acknowledge the key records on {KEYS_TOPIC}: {exc}; try again.",
            ) from exc
        self.keyring.accept(records)


def _concatenated(encoded: object) -> bytes | None:
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
