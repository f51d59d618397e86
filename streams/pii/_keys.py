"""Data keys, the key provider that wraps them, and the local key files.

Envelope encryption: each data key (AES-256, one per product and data subject) is created by
the producer that first needs it, *wrapped* (encrypted) by a key-encryption key (KEK) that a
:class:`KeyProvider` holds, and published wrapped on ``_mesh.keys``. The KEK never leaves the
provider; Vault or a cloud KMS plug in by implementing the two methods. The default,
:class:`LocalKeyProvider`, keeps a 256-bit KEK in a 0600 file under the state directory and
wraps with AES-256-GCM, the key id as associated data (a wrapped key moved to another id does
not unwrap).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.errors import ConfigError

__all__ = [
    "DataKey",
    "KeyProvider",
    "LocalKeyProvider",
    "key_id",
    "local_pseudonym_key",
    "parse_key_id",
    "read_secret_file",
]

KEY_BYTES = 32
_NONCE = 12
KEYS_DIR = "keys"


def key_id(product: str, subject_tag: str, serial: str) -> str:
    """``<product>/<subject tag>/<serial>``: names the product, the data subject (by the tag of
    its pseudonym, :meth:`Pseudonymizer.subject_tag`) and which of the subject's keys."""
    return f"{product}/{subject_tag}/{serial}"


def parse_key_id(text: str) -> tuple[str, str, str] | None:
    """``(product, subject tag, serial)`` of a key id, or ``None`` when it is not one."""
    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


# Serials: a random per-process prefix and a counter (a syscall per key for token_hex cost
# more than the key's encryption; scripts/bench events, ListenerRegistered).
_SERIAL_PREFIX = secrets.token_hex(3)
_serials = itertools.count(1)
# The random 32-bit half of this process's GCM nonces (see DataKey.nonce).
_NONCE_PREFIX = os.urandom(4)


class DataKey:
    """One data key in the clear, as a producer or a holder of a released key has it.

    Immutable by convention; a plain slotted class rather than a frozen dataclass, whose
    ``__init__`` (``object.__setattr__`` per field) cost a fifth of creating a key
    (scripts/bench events, ListenerRegistered: every event a new data subject).

    Attributes:
        id: Its key id (:func:`key_id`); it appears in every ciphertext it makes.
        secret: The 32-byte AES-256 key.
        cipher: The AES-GCM object of the key, made once (constructing one per field costs
            more than the encryption itself; scripts/bench events).
    """

    __slots__ = ("_nonces", "cipher", "id", "secret")

    def __init__(self, id: str, secret: bytes, cipher: AESGCM | None = None) -> None:
        self.id = id
        self.secret = secret
        self.cipher = AESGCM(secret) if cipher is None else cipher
        self._nonces = itertools.count()

    def __repr__(self) -> str:
        return f"DataKey(id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataKey):
            return NotImplemented
        return self.id == other.id and self.secret == other.secret

    def __hash__(self) -> int:
        return hash((self.id, self.secret))

    @classmethod
    def create(cls, product: str, subject_tag: str) -> DataKey:
        """A new random key for ``product`` and the subject with ``subject_tag``."""
        secret = _random_key()
        return cls(f"{product}/{subject_tag}/{_SERIAL_PREFIX}{next(_serials):x}", secret)

    @classmethod
    def of(cls, name: str, secret: bytes) -> DataKey:
        """The key named ``name`` with its clear ``secret``."""
        return cls(name, secret)

    def nonce(self) -> bytes:
        """A fresh 96-bit GCM nonce: the process's random 32-bit prefix and this object's
        64-bit counter.

        Unique per key as long as one object encrypts with it, which holds: only the producer
        that created a key encrypts with it (readers only decrypt). A syscall per field for
        ``os.urandom(12)`` cost a fifth of the protection (scripts/bench events).
        """
        return _NONCE_PREFIX + next(self._nonces).to_bytes(8, "big")


_pool = bytearray()
_pool_lock = threading.Lock()
_POOL_KEYS = 256


def _random_key() -> bytes:
    """32 bytes from the OS's CSPRNG, read 256 keys at a time: a syscall per key cost 1.5 us
    of the ~20 us a new subject costs (scripts/bench events, ListenerRegistered). Locked, and
    emptied in a forked child, so no two keys ever share bytes."""
    with _pool_lock:
        if not _pool:
            _pool.extend(os.urandom(KEY_BYTES * _POOL_KEYS))
        secret = bytes(_pool[-KEY_BYTES:])
        del _pool[-KEY_BYTES:]
    return secret


def _after_fork() -> None:
    # A child must not reuse the parent's pooled key bytes, nonce prefix or serials.
    global _NONCE_PREFIX, _SERIAL_PREFIX, _pool_lock
    _pool_lock = threading.Lock()
    _pool.clear()
    _NONCE_PREFIX = os.urandom(4)
    _SERIAL_PREFIX = secrets.token_hex(3)


os.register_at_fork(after_in_child=_after_fork)


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps data keys with a key-encryption key it never hands out.

    ``kek_id`` names the KEK; it is stored next to each wrapped key so a rotated provider can
    still unwrap old keys. ``context`` (the data key's id) is bound to the wrapped bytes.
    ``unwrap`` raises ``ValueError`` when the wrapped key is not one of its KEK's.
    """

    @property
    def kek_id(self) -> str:
        """The id of the key-encryption key new keys are wrapped with."""
        ...

    def wrap(self, key: bytes, *, context: bytes) -> bytes:
        """``key`` encrypted under the KEK, bound to ``context``."""
        ...

    def unwrap(self, wrapped: bytes, *, kek_id: str, context: bytes) -> bytes:
        """The clear key of ``wrapped``; ``ValueError`` if it does not unwrap."""
        ...


class LocalKeyProvider:
    """A KEK in a local file (mode 0600), created on first use; AES-256-GCM wrapping.

    Args:
        path: The key file, e.g. ``<state_dir>/keys/kek.json`` (:meth:`in_state_dir`).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._secret = read_secret_file(path, create=True)
        self._kek_id = "local:" + hashlib.sha256(self._secret).hexdigest()[:16]
        self._cipher = AESGCM(self._secret)

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> LocalKeyProvider:
        """The provider of ``<state_dir>/keys/kek.json``."""
        return cls(state_dir / KEYS_DIR / "kek.json")

    @property
    def kek_id(self) -> str:
        """``local:`` and a fingerprint of the KEK (not the KEK)."""
        return self._kek_id

    def wrap(self, key: bytes, *, context: bytes) -> bytes:
        """``nonce | AES-GCM(key)`` with ``context`` as associated data."""
        nonce = os.urandom(_NONCE)
        return nonce + self._cipher.encrypt(nonce, key, context)

    def unwrap(self, wrapped: bytes, *, kek_id: str, context: bytes) -> bytes:
        """The clear key; ``ValueError`` for another KEK, another context or altered bytes."""
        if kek_id != self._kek_id:
            raise ValueError(f"key wrapped by {kek_id}, this provider holds {self._kek_id}")
        try:
            return self._cipher.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], context)
        except InvalidTag:
            raise ValueError(f"the wrapped key does not unwrap with {self._kek_id}") from None


def local_pseudonym_key(state_dir: Path) -> bytes:
    """The mesh's pseudonym key in ``<state_dir>/keys/pseudonym.json`` (0600), created once."""
    return read_secret_file(state_dir / KEYS_DIR / "pseudonym.json", create=True)


def read_secret_file(path: Path, *, create: bool = False) -> bytes:
    """The 32-byte secret in ``path`` (``{"key": base64}``), created (0600) when ``create``.

    Raises:
        ConfigError: The file is missing (and not ``create``), readable by others, or not a key
            file; the message names the file and the fix.
    """
    if create and not path.exists():
        _write_secret(path, os.urandom(KEY_BYTES))
    try:
        mode = path.stat().st_mode
        body = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"key file {path} does not exist; create it or point at it") from None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"key file {path} cannot be read ({exc}); restore it") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    try:
        secret = base64.b64decode(body["key"], validate=True)
    except (TypeError, KeyError, ValueError):
        secret = b""
    if len(secret) != KEY_BYTES:
        raise ConfigError(
            f'key file {path} holds no 32-byte key (expected {{"key": "<base64>"}}); restore '
            "it from a backup: data encrypted under it cannot be read without it"
        )
    return secret


def _write_secret(path: Path, secret: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    body = orjson.dumps({"key": base64.b64encode(secret).decode()})
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, body + b"\n")
    finally:
        os.close(descriptor)
    # Not os.replace: two processes creating the key at once must end with one key.
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
