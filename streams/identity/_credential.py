"""A credential: an identity's name and its one secret, and the keys derived from the secret."""

from __future__ import annotations

import base64
import functools
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from streams.errors import ConfigError

__all__ = [
    "ADMIN",
    "MIN_SECRET_LENGTH",
    "Credential",
    "check_identity_name",
    "generate_credential",
    "read_credential",
    "write_credential",
]

ADMIN = "admin"
"""The platform team's identity: may do everything, and signs the mesh's own records."""

MIN_SECRET_LENGTH = 24
"""Secrets are keys, not passwords: the public key derived from one is published, so a short,
guessable secret could be found offline. Generated secrets have 43 characters."""

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_SALT = b"streams identity v1"


def check_identity_name(name: str) -> str:
    """``name`` when it is ``admin`` or a domain name (lower_snake_case).

    Raises:
        ConfigError: It is neither, naming it and the rule.
    """
    if not _NAME.match(name):
        raise ConfigError(
            f"invalid identity {name!r}: an identity is 'admin' or a domain name in "
            "lower_snake_case starting with a letter (e.g. 'player')"
        )
    return name


@functools.lru_cache(maxsize=4096)
def _seed(name: str, secret: str) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"ed25519:" + name.encode())
    return kdf.derive(secret.encode())


@dataclass(frozen=True, slots=True)
class Credential:
    """An identity and its secret; ``repr`` never shows the secret.

    Attributes:
        name: ``admin`` or a domain name.
        secret: The secret (at least :data:`MIN_SECRET_LENGTH` characters).
    """

    name: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        check_identity_name(self.name)
        if len(self.secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"the secret of identity {self.name!r} has {len(self.secret)} characters, fewer "
                f"than {MIN_SECRET_LENGTH}: use a random secret (`mesh domain create` makes one)"
            )

    @property
    def is_admin(self) -> bool:
        """Whether this is the platform team's identity."""
        return self.name == ADMIN

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 private key derived from the secret (HKDF-SHA256, per name)."""
        return Ed25519PrivateKey.from_private_bytes(_seed(self.name, self.secret))

    def public_key(self) -> str:
        """The Ed25519 public key, base64url without padding (43 characters)."""
        return _public_key(self.name, self.secret)

    def basic_auth(self) -> str:
        """``name:secret``: confluent-kafka's ``basic.auth.user.info``."""
        return f"{self.name}:{self.secret}"


@functools.lru_cache(maxsize=4096)
def _public_key(name: str, secret: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(_seed(name, secret)).public_key()
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def generate_credential(name: str) -> Credential:
    """A new credential for ``name`` with a random 256-bit secret."""
    return Credential(name=check_identity_name(name), secret=secrets.token_urlsafe(32))


def write_credential(credential: Credential, path: Path) -> Path:
    """Write ``credential`` to ``path`` as JSON, readable by its owner only (mode 0600).

    The file is created with mode 0600 before anything is written to it, and replaced
    atomically, so the secret is never readable by others even for a moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    body = orjson.dumps({"name": credential.name, "secret": credential.secret})
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, body + b"\n")
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    return path


def read_credential(path: Path) -> Credential:
    """The credential in ``path`` (written by :func:`write_credential`).

    Raises:
        ConfigError: The file is missing, readable by others, or not a credential; the message
            names the file and the fix.
    """
    try:
        mode = path.stat().st_mode
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise ConfigError(
            f"credential file {str(path)!r} does not exist; `mesh up` writes the admin's, "
            "`mesh domain create NAME` a domain's"
        ) from exc
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"credential file {str(path)!r} cannot be read: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"credential file {str(path)!r} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("name"), str)
        or not isinstance(data.get("secret"), str)
    ):
        raise ConfigError(
            f'credential file {str(path)!r} is not a credential: expected {{"name": ..., '
            '"secret": ...}'
        )
    return Credential(name=data["name"], secret=data["secret"])
