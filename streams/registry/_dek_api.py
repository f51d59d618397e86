"""Confluent's DEK Registry API (``/dek-registry/v1/keks…``), as confluent-kafka's
``DekRegistryClient`` calls it for ``ENCRYPT`` rules: bodies, status and ``error_code`` values
follow Confluent's ``DekRegistryResource`` (40470 key not found, 40471 not soft-deleted first,
40472 must be undeleted first, 40971 already exists, 42271 invalid key, 42272 reference exists).

Keys live in the registry's log (:mod:`~streams.registry._keys`); this module only decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from streams.errors import RegistryRequestError
from streams.registry import codes
from streams.registry._http import Request, Response
from streams.registry._keys import ALGORITHMS, dek_key, kek_key
from streams.registry._query import flag, parse_version, read_body
from streams.registry.service import Registry
from streams.registry.storage import LogRecord

__all__ = ["DekRoutes"]

Result = Any
_NAME_MAX = 64
_NO_CONTENT = Response(204, b"")
_KEKS = "/dek-registry/v1/keks"


def _not_found(name: str) -> RegistryRequestError:
    return RegistryRequestError(404, codes.KEY_NOT_FOUND, f"Key '{name}' not found")


def _invalid(what: str, fix: str) -> RegistryRequestError:
    return RegistryRequestError(422, codes.INVALID_KEY, f"Invalid or missing {what}: {fix}")


def _check_name(name: Any) -> str:
    ok = isinstance(name, str) and 0 < len(name) <= _NAME_MAX
    ok = ok and (name[0].isalpha() or name[0] == "_")
    if not ok or not all(c.isalnum() or c in "_-" for c in name[1:]):
        raise _invalid(
            "name",
            f"{name!r} must start with a letter or '_' and hold only letters, digits, '_' and "
            f"'-' (at most {_NAME_MAX} characters)",
        )
    return str(name)


def _check_subject(subject: Any) -> str:
    if not isinstance(subject, str) or not subject or any(ord(c) < 32 for c in subject):
        raise _invalid("subject", "name the subject whose fields the key encrypts")
    return subject


def _algorithm(request: Request) -> str:
    algorithm = request.query.get("algorithm") or "AES256_GCM"
    if algorithm not in ALGORITHMS:
        raise _invalid("algorithm", f"{algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    return algorithm


def _now() -> int:
    return int(time.time() * 1000)


def _kek_json(kek: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": kek["name"],
        "kmsType": kek.get("kmsType"),
        "kmsKeyId": kek["kmsKeyId"],
        "kmsProps": kek.get("kmsProps") or {},
        "doc": kek.get("doc"),
        "shared": bool(kek.get("shared")),
        "ts": kek.get("ts"),
        "deleted": bool(kek.get("deleted")),
    }


def _dek_json(dek: dict[str, Any]) -> dict[str, Any]:
    return {
        "kekName": dek["kekName"],
        "subject": dek["subject"],
        "version": dek["version"],
        "algorithm": dek["algorithm"],
        "encryptedKeyMaterial": dek.get("encryptedKeyMaterial"),
        "ts": dek.get("ts"),
        "deleted": bool(dek.get("deleted")),
    }


class DekRoutes:
    """The ``/dek-registry/v1`` routes over the registry's key state."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def install(self, add: Callable[[str, str, Callable[..., Any]], None]) -> None:
        """Add the routes through ``Api._add``."""
        dek = _KEKS + r"/([^/]+)/deks/([^/]+)"
        add("GET", _KEKS, self.list_keks)
        add("POST", _KEKS, self.create_kek)
        add("GET", _KEKS + r"/([^/]+)", self.get_kek)
        add("PUT", _KEKS + r"/([^/]+)", self.put_kek)
        add("DELETE", _KEKS + r"/([^/]+)", self.delete_kek)
        add("POST", _KEKS + r"/([^/]+)/undelete", self.undelete_kek)
        add("GET", _KEKS + r"/([^/]+)/deks", self.list_dek_subjects)
        add("POST", _KEKS + r"/([^/]+)/deks", self.create_dek)
        add("GET", dek, self.get_dek)
        add("POST", dek, self.create_dek)
        add("DELETE", dek, self.delete_dek)
        add("POST", dek + "/undelete", self.undelete_dek)
        add("GET", dek + "/versions", self.list_dek_versions)
        add("GET", dek + r"/versions/([^/]+)", self.get_dek_version)
        add("DELETE", dek + r"/versions/([^/]+)", self.delete_dek_version)
        add("POST", dek + r"/versions/([^/]+)/undelete", self.undelete_dek_version)

    @property
    def _keys(self) -> Any:
        return self.registry.state.keys

    def _kek(self, name: str, *, deleted: bool) -> dict[str, Any]:
        found = self._keys.kek(_check_name(name), deleted=deleted)
        if found is None:
            raise _not_found(name)
        return dict(found)

    # --- KEKs -----------------------------------------------------------------------------

    def list_keks(self, request: Request) -> Result:
        deleted = flag(request, "deleted")
        return sorted(n for n in self._keys.keks if self._keys.kek(n, deleted=deleted))

    def get_kek(self, request: Request, name: str) -> Result:
        return _kek_json(self._kek(name, deleted=flag(request, "deleted")))

    async def create_kek(self, request: Request) -> Result:
        body = read_body(request)
        name = _check_name(body.get("name"))
        if not isinstance(body.get("kmsKeyId"), str) or not body["kmsKeyId"]:
            raise _invalid("kmsKeyId", "give the key's id in the KMS")
        if not isinstance(body.get("kmsType"), str) or not body["kmsType"]:
            raise _invalid("kmsType", "give the KMS type, e.g. 'local-kms' or 'aws-kms'")
        props = body.get("kmsProps") or {}
        if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
            raise _invalid("kmsProps", "kmsProps maps names to strings")
        doc, shared = body.get("doc"), body.get("shared") or False
        if (doc is not None and not isinstance(doc, str)) or not isinstance(shared, bool):
            raise _invalid("doc or shared", "doc is a string, shared true or false")
        kek = {
            "name": name,
            "kmsType": body["kmsType"],
            "kmsKeyId": body["kmsKeyId"],
            "kmsProps": dict(sorted(props.items())),
            "doc": doc,
            "shared": shared,
            "deleted": False,
        }
        created: dict[str, Any] = {}

        def decide() -> list[LogRecord]:
            old = self._keys.kek(name, deleted=True)
            # Like Confluent: creating an existing KEK is a conflict, unless it was soft-deleted
            # and the request describes the same key (then it is undeleted).
            same = old is not None and all(old.get(k) == kek[k] for k in kek if k != "deleted")
            if old is not None and (not old.get("deleted") or not same):
                raise RegistryRequestError(
                    409,
                    codes.KEY_ALREADY_EXISTS,
                    f"Key '{name}' already exists; use a different value",
                )
            created.update(kek, ts=_now())
            return [(kek_key(name), _value(created))]

        await self.registry.write(decide)
        return _kek_json(created)

    async def put_kek(self, request: Request, name: str) -> Result:
        body = read_body(request)
        updated: dict[str, Any] = {}

        def decide() -> list[LogRecord]:
            old = self._kek(name, deleted=False)
            new = dict(old)
            for key in ("kmsProps", "doc", "shared"):
                if body.get(key) is not None:
                    new[key] = body[key]
            if not isinstance(new.get("shared"), bool) or not isinstance(new["kmsProps"], dict):
                raise _invalid("kmsProps or shared", "kmsProps is an object, shared a boolean")
            updated.update(new)
            if new == old:
                return []
            updated["ts"] = _now()
            return [(kek_key(name), _value(updated))]

        await self.registry.write(decide)
        return _kek_json(updated)

    async def delete_kek(self, request: Request, name: str) -> Result:
        permanent = flag(request, "permanent")

        def decide() -> list[LogRecord]:
            old = self._kek(name, deleted=True)
            if self._keys.deks_of(name, deleted=permanent):
                raise RegistryRequestError(
                    422,
                    codes.KEY_REFERENCE_EXISTS,
                    f"Key '{name}' still has data keys; delete them first "
                    f"(DELETE {_KEKS}/{name}/deks/<subject>"
                    + ("?permanent=true" if permanent else "")
                    + ")",
                )
            if permanent:
                if not old.get("deleted"):
                    raise _not_soft_deleted(name)
                return [(kek_key(name), None)]
            if old.get("deleted"):
                return []
            return [(kek_key(name), _value({**old, "deleted": True, "ts": _now()}))]

        await self.registry.write(decide)
        return _NO_CONTENT

    async def undelete_kek(self, request: Request, name: str) -> Result:
        def decide() -> list[LogRecord]:
            old = self._kek(name, deleted=True)
            if not old.get("deleted"):
                return []
            return [(kek_key(name), _value({**old, "deleted": False, "ts": _now()}))]

        await self.registry.write(decide)
        return _NO_CONTENT

    # --- DEKs -----------------------------------------------------------------------------

    def list_dek_subjects(self, request: Request, name: str) -> Result:
        deleted = flag(request, "deleted")
        self._kek(name, deleted=deleted)
        return sorted({d["subject"] for d in self._keys.deks_of(name, deleted=deleted)})

    def list_dek_versions(self, request: Request, name: str, subject: str) -> Result:
        deleted = flag(request, "deleted")
        self._kek(name, deleted=deleted)
        found = self._keys.dek_versions(
            name, _check_subject(subject), _algorithm(request), deleted=deleted
        )
        return [d["version"] for d in found]

    def get_dek(self, request: Request, name: str, subject: str) -> Result:
        return self._get_dek(request, name, subject, 1)

    def get_dek_version(self, request: Request, name: str, subject: str, version: str) -> Result:
        return self._get_dek(request, name, subject, parse_version(version))

    def _get_dek(self, request: Request, name: str, subject: str, version: int) -> Result:
        deleted = flag(request, "deleted")
        self._kek(name, deleted=deleted)
        found = self._keys.dek(
            name, _check_subject(subject), _algorithm(request), version, deleted=deleted
        )
        if found is None:
            raise _not_found(subject)
        return _dek_json(found)

    async def create_dek(self, request: Request, name: str, subject: str | None = None) -> Result:
        body = read_body(request)
        subject = _check_subject(subject if subject is not None else body.get("subject"))
        algorithm = body.get("algorithm") or "AES256_GCM"
        if algorithm not in ALGORITHMS:
            raise _invalid("algorithm", f"{algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        version = body.get("version") or 1
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RegistryRequestError(
                422, codes.INVALID_VERSION, f"The specified version '{version}' is not valid"
            )
        material = body.get("encryptedKeyMaterial")
        if material is not None and not isinstance(material, str):
            raise _invalid("encryptedKeyMaterial", "send the wrapped key as a base64 string")
        created: dict[str, Any] = {}

        def decide() -> list[LogRecord]:
            kek = self._kek(name, deleted=bool(body.get("deleted")))
            if material is None:
                if kek.get("shared"):
                    raise RegistryRequestError(
                        500,
                        codes.DEK_GENERATION_FAILED,
                        f"Could not generate a data key for {subject}: this registry has no "
                        f"access to the KMS of KEK '{name}'; wrap the data key client-side "
                        "(a KEK with shared=false) and send encryptedKeyMaterial",
                    )
                raise _invalid(
                    "encryptedKeyMaterial",
                    f"KEK '{name}' is not shared, so the client wraps the data key with its KMS "
                    "and sends it",
                )
            dek = {
                "kekName": name,
                "subject": subject,
                "version": version,
                "algorithm": algorithm,
                "encryptedKeyMaterial": material,
                "deleted": False,
            }
            old = self._keys.dek(name, subject, algorithm, version, deleted=True)
            same = old is not None and old.get("encryptedKeyMaterial") == material
            if old is not None and (not old.get("deleted") or not same):
                raise RegistryRequestError(
                    409,
                    codes.KEY_ALREADY_EXISTS,
                    f"Key '{subject}' already exists; use a different value",
                )
            created.update(dek, ts=_now())
            return [(dek_key(name, subject, version, algorithm), _value(created))]

        await self.registry.write(decide)
        return _dek_json(created)

    async def delete_dek(self, request: Request, name: str, subject: str) -> Result:
        return await self._delete_deks(request, name, subject, None)

    async def delete_dek_version(
        self, request: Request, name: str, subject: str, version: str
    ) -> Result:
        return await self._delete_deks(request, name, subject, parse_version(version))

    async def _delete_deks(
        self, request: Request, name: str, subject: str, version: int | None
    ) -> Result:
        permanent = flag(request, "permanent")
        algorithm = _algorithm(request)
        _check_subject(subject)

        def decide() -> list[LogRecord]:
            self._kek(name, deleted=True)
            found = self._keys.dek_versions(name, subject, algorithm, deleted=True)
            if version is not None:
                found = [d for d in found if version in (d["version"], -1)][-1:]
            if not found:
                raise _not_found(subject)
            records: list[LogRecord] = []
            for dek in found:
                key = dek_key(name, subject, dek["version"], algorithm)
                if permanent:
                    if not dek.get("deleted"):
                        raise _not_soft_deleted(subject)
                    records.append((key, None))
                elif not dek.get("deleted"):
                    records.append((key, _value({**dek, "deleted": True, "ts": _now()})))
            return records

        await self.registry.write(decide)
        return _NO_CONTENT

    async def undelete_dek(self, request: Request, name: str, subject: str) -> Result:
        return await self._undelete_deks(request, name, subject, None)

    async def undelete_dek_version(
        self, request: Request, name: str, subject: str, version: str
    ) -> Result:
        return await self._undelete_deks(request, name, subject, parse_version(version))

    async def _undelete_deks(
        self, request: Request, name: str, subject: str, version: int | None
    ) -> Result:
        algorithm = _algorithm(request)
        _check_subject(subject)

        def decide() -> list[LogRecord]:
            kek = self._kek(name, deleted=True)
            found = self._keys.dek_versions(name, subject, algorithm, deleted=True)
            if version is not None:
                found = [d for d in found if version in (d["version"], -1)][-1:]
            if not found:
                raise _not_found(subject)
            if kek.get("deleted"):
                raise RegistryRequestError(
                    404,
                    codes.KEY_SOFT_DELETED,
                    f"Key '{name}' must be undeleted first (POST {_KEKS}/{name}/undelete)",
                )
            return [
                (
                    dek_key(name, subject, d["version"], algorithm),
                    _value({**d, "deleted": False, "ts": _now()}),
                )
                for d in found
                if d.get("deleted")
            ]

        await self.registry.write(decide)
        return _NO_CONTENT


def _not_soft_deleted(name: str) -> RegistryRequestError:
    return RegistryRequestError(
        404,
        codes.KEY_NOT_SOFT_DELETED,
        f"Key '{name}' was not deleted first before being permanently deleted",
    )


def _value(fields: dict[str, Any]) -> bytes:
    return orjson.dumps(fields)
