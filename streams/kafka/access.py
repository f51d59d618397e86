"""The broker's enforcement point: SCRAM users and ACLs of the mesh's identities.

The registry (the mesh's control plane, running as ``admin``, a Kafka super user) calls a
:class:`BrokerAccess` when a domain is created, rotated or revoked and when a grant is given or
taken back. :class:`KafkaBrokerAccess` does it with confluent-kafka's ``AdminClient``; which
bindings it writes is :mod:`streams.kafka.acls`' business.

Not every broker enforces ACLs. Tansu, the embedded broker, has none, and calling the ACL API
on it makes librdkafka abort the whole process. So before anything
else :class:`KafkaBrokerAccess` finds out whether the broker enforces access control, without
an ACL call on Tansu: the recorded broker kind when the caller knows it; else DescribeCluster,
whose ``authorized_operations`` Tansu leaves null (its cluster id, ``tansu_cluster``, is
recognised as well). Only a broker that passed both, Apache Kafka, which lists the operations
with or without an authorizer, gets one ACL call: a harmless probe binding, which a broker
without an authorizer refuses with ``SECURITY_DISABLED``. On a broker without access control
every method does nothing and answers :data:`NOT_ENFORCED`.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Iterable
from typing import Any, Final, Literal, Protocol, TypeVar

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from streams.config import BrokerKind, KafkaSettings
from streams.errors import BrokerAccessError, BrokerUnavailableError
from streams.identity import ADMIN, Credential, check_identity_name
from streams.kafka.acls import domain_acls, grant_acls, principal, principal_filter
from streams.kafka.client import build_client

__all__ = [
    "ENFORCED",
    "NOT_ENFORCED",
    "SCRAM_ITERATIONS",
    "BrokerAccess",
    "BrokerAcls",
    "KafkaBrokerAccess",
    "UnenforcedBrokerAccess",
]

logger = logging.getLogger(__name__)

BrokerAcls = Literal["enforced", "not enforced by this broker"]
"""What a change did on the broker: written and enforced, or nothing (no authorizer)."""
ENFORCED: Final[BrokerAcls] = "enforced"
NOT_ENFORCED: Final[BrokerAcls] = "not enforced by this broker"
SCRAM_ITERATIONS = 4096
"""SCRAM-SHA-256 iterations of the users created here (Kafka's minimum and its tools' default:
every client connection pays them once)."""

_TANSU_CLUSTER_ID = "tansu"
_PROBE = AclBinding(
    ResourceType.TOPIC,
    "_mesh.acl_probe",
    ResourcePatternType.LITERAL,
    principal(ADMIN),
    "*",
    AclOperation.DESCRIBE,
    AclPermissionType.ALLOW,
)
_UNREACHABLE = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._TIMED_OUT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._RESOLVE,
        KafkaError._AUTHENTICATION,
    }
)
_T = TypeVar("_T")


class BrokerAccess(Protocol):
    """What the control plane asks of the broker; every method is idempotent.

    Each change answers :data:`ENFORCED` once the broker has it, or :data:`NOT_ENFORCED` (and
    changes nothing) on a broker without access control, where the registry still enforces
    its own checks and the catalog its signatures.
    """

    @property
    def enforced(self) -> bool:
        """Whether the broker enforces ACLs (asked once, then remembered)."""
        ...

    def upsert_user(self, credential: Credential) -> BrokerAcls:
        """Create or rotate the SCRAM-SHA-256 user of ``credential`` (its name and secret)."""
        ...

    def remove_user(self, name: str) -> BrokerAcls:
        """Delete the SCRAM user ``name``: new connections with its password are refused."""
        ...

    def allow_domain(self, name: str) -> BrokerAcls:
        """Add the ACLs of domain ``name`` (:func:`streams.kafka.acls.domain_acls`)."""
        ...

    def revoke_domain(self, name: str) -> BrokerAcls:
        """Remove every ACL of ``User:<name>`` (its own and the grants it holds)."""
        ...

    def grant_read(self, product_id: str, consumer: str) -> BrokerAcls:
        """Let domain ``consumer`` read product ``<domain>.<name>`` (all its versions)."""
        ...

    def revoke_read(self, product_id: str, consumer: str) -> BrokerAcls:
        """Take back :meth:`grant_read`."""
        ...


class UnenforcedBrokerAccess:
    """A :class:`BrokerAccess` for a broker known to have no access control: changes nothing."""

    @property
    def enforced(self) -> bool:
        """Always False."""
        return False

    def upsert_user(self, credential: Credential) -> BrokerAcls:
        """Nothing to do."""
        return NOT_ENFORCED

    def remove_user(self, name: str) -> BrokerAcls:
        """Nothing to do."""
        return NOT_ENFORCED

    def allow_domain(self, name: str) -> BrokerAcls:
        """Nothing to do."""
        return NOT_ENFORCED

    def revoke_domain(self, name: str) -> BrokerAcls:
        """Nothing to do."""
        return NOT_ENFORCED

    def grant_read(self, product_id: str, consumer: str) -> BrokerAcls:
        """Nothing to do."""
        return NOT_ENFORCED

    def revoke_read(self, product_id: str, consumer: str) -> BrokerAcls:
        """Nothing to do."""
        return NOT_ENFORCED


class KafkaBrokerAccess:
    """:class:`BrokerAccess` over confluent-kafka's ``AdminClient``.

    The settings' principal must be a super user of the cluster (``super.users=User:admin``):
    the registry's, when it runs as the admin.

    Example:
        >>> access = KafkaBrokerAccess(settings.kafka, broker_kind="kafka")
        >>> access.upsert_user(credential)
        'enforced'
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        broker_kind: BrokerKind | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Configure, without connecting.

        Args:
            settings: How to reach the cluster, as a super user.
            broker_kind: The broker's kind when known (a recorded platform's): ``tansu`` is
                never asked anything; None or ``kafka`` ask the broker (DescribeCluster).
            timeout_s: Per request.
        """
        self._settings = settings
        self._kind = broker_kind
        self._timeout_s = timeout_s
        self._admin: AdminClient | None = None
        self._enforced: bool | None = None

    def _client(self) -> AdminClient:
        if self._admin is None:
            conf = self._settings.librdkafka()
            self._admin = build_client(AdminClient, conf, settings=self._settings)
        return self._admin

    @property
    def enforced(self) -> bool:
        """Whether the broker enforces ACLs, found out without calling the ACL API.

        Raises:
            BrokerUnavailableError: The broker cannot be reached (or refused our login).
        """
        if self._enforced is None:
            self._enforced = self._detect()
            logger.info(
                "Kafka at %s: access control %s",
                self._settings.bootstrap_servers,
                ENFORCED if self._enforced else NOT_ENFORCED,
            )
        return self._enforced

    def _detect(self) -> bool:
        if self._kind == "tansu":
            return False
        future = self._client().describe_cluster(
            include_authorized_operations=True, request_timeout=self._timeout_s
        )
        try:
            cluster = self._wait(future, what="describe the cluster", who="")
        except BrokerAccessError as exc:
            # Only an authorizer refuses DescribeCluster.
            if exc.code == "CLUSTER_AUTHORIZATION_FAILED":
                return True
            raise
        if str(cluster.cluster_id or "").startswith(_TANSU_CLUSTER_ID):
            return False
        if cluster.authorized_operations is None:  # Tansu's answer: it knows no operations
            return False
        # Apache Kafka lists the operations with or without an authorizer, and answers
        # DescribeAcls with an empty list without one: only a write tells them apart
        # (SECURITY_DISABLED). The probe binding lets the admin, a super user anyway, describe
        # one topic: harmless, and kept (CreateAcls is idempotent). Only Apache Kafka gets here.
        futures = self._client().create_acls([_PROBE], request_timeout=self._timeout_s)
        try:
            self._wait_all(futures.values(), what="create ACLs", who=ADMIN)
        except BrokerAccessError as exc:
            if exc.code == "SECURITY_DISABLED":
                return False
            raise
        return True

    def upsert_user(self, credential: Credential) -> BrokerAcls:
        """Create or rotate the SCRAM-SHA-256 user ``credential.name``.

        Raises:
            BrokerAccessError: The broker refused (e.g. we are not a super user).
            BrokerUnavailableError: The broker cannot be reached.
        """
        if not self.enforced:
            return NOT_ENFORCED
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, SCRAM_ITERATIONS)
        change = UserScramCredentialUpsertion(credential.name, info, credential.secret.encode())
        futures = self._client().alter_user_scram_credentials(
            [change], request_timeout=self._timeout_s
        )
        self._wait_all(futures.values(), what="create the SCRAM user", who=credential.name)
        return ENFORCED

    def remove_user(self, name: str) -> BrokerAcls:
        """Delete the SCRAM user ``name`` (nothing to do when there is none).

        Raises:
            BrokerAccessError: The broker refused.
            BrokerUnavailableError: The broker cannot be reached.
        """
        check_identity_name(name)
        if not self.enforced:
            return NOT_ENFORCED
        change = UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_256)
        futures = self._client().alter_user_scram_credentials(
            [change], request_timeout=self._timeout_s
        )
        try:
            self._wait_all(futures.values(), what="delete the SCRAM user", who=name)
        except BrokerAccessError as exc:
            if exc.code != "RESOURCE_NOT_FOUND":
                raise
        return ENFORCED

    def allow_domain(self, name: str) -> BrokerAcls:
        """Add domain ``name``'s ACLs (existing ones are kept: CreateAcls is idempotent).

        Raises:
            ConfigError: ``name`` is not a domain name.
            BrokerAccessError: The broker refused.
            BrokerUnavailableError: The broker cannot be reached.
        """
        return self._create(domain_acls(name), who=name)

    def revoke_domain(self, name: str) -> BrokerAcls:
        """Remove every ACL binding of ``User:<name>``.

        Raises:
            ConfigError: ``name`` is not an identity name.
            BrokerAccessError: The broker refused.
            BrokerUnavailableError: The broker cannot be reached.
        """
        return self._delete([principal_filter(name)], who=name)

    def grant_read(self, product_id: str, consumer: str) -> BrokerAcls:
        """Let ``consumer`` read and describe the topics prefixed ``<product_id>.v``.

        Raises:
            ConfigError: A name is invalid.
            BrokerAccessError: The broker refused.
            BrokerUnavailableError: The broker cannot be reached.
        """
        return self._create(grant_acls(product_id, consumer), who=consumer)

    def revoke_read(self, product_id: str, consumer: str) -> BrokerAcls:
        """Remove exactly the bindings :meth:`grant_read` adds.

        Raises:
            ConfigError: A name is invalid.
            BrokerAccessError: The broker refused.
            BrokerUnavailableError: The broker cannot be reached.
        """
        filters = [_exact(binding) for binding in grant_acls(product_id, consumer)]
        return self._delete(filters, who=consumer)

    def _create(self, bindings: list[AclBinding], *, who: str) -> BrokerAcls:
        if not self.enforced:
            return NOT_ENFORCED
        futures = self._client().create_acls(bindings, request_timeout=self._timeout_s)
        self._wait_all(futures.values(), what="create ACLs", who=who)
        return ENFORCED

    def _delete(self, filters: list[AclBindingFilter], *, who: str) -> BrokerAcls:
        if not self.enforced:
            return NOT_ENFORCED
        futures = self._client().delete_acls(filters, request_timeout=self._timeout_s)
        self._wait_all(futures.values(), what="delete ACLs", who=who)
        return ENFORCED

    def _wait_all(
        self, futures: Iterable[concurrent.futures.Future[Any]], *, what: str, who: str
    ) -> None:
        for future in futures:
            self._wait(future, what=what, who=who)

    def _wait(self, future: concurrent.futures.Future[_T], *, what: str, who: str) -> _T:
        servers = self._settings.bootstrap_servers
        try:
            return future.result(self._timeout_s + 5)
        except concurrent.futures.TimeoutError as exc:
            raise BrokerUnavailableError(
                f"Kafka at {servers} did not answer in {self._timeout_s:g} s when asked to "
                f"{what}{_for(who)}; is it running (`mesh status`)?",
                bootstrap_servers=servers,
            ) from exc
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if error is not None and error.code() in _UNREACHABLE:
                raise BrokerUnavailableError(
                    f"Kafka at {servers} cannot be reached to {what}{_for(who)}: {error.str()}; "
                    "is it running (`mesh status`), and are kafka.sasl_username/sasl_password "
                    "the admin's?",
                    bootstrap_servers=servers,
                ) from exc
            code = error.name() if error is not None else None
            raise BrokerAccessError(
                f"Kafka at {servers} refused to {what}{_for(who)}: "
                f"{error.str() if error else exc}{_hint(code)}",
                principal=principal(who) if who else "",
                code=code,
            ) from exc


def _for(who: str) -> str:
    return f" of {principal(who)}" if who else ""


def _hint(code: str | None) -> str:
    if code in ("CLUSTER_AUTHORIZATION_FAILED", "TOPIC_AUTHORIZATION_FAILED"):
        return (
            "; the registry must run as the admin, a Kafka super user (super.users=User:admin): "
            "check identity / kafka.sasl_username"
        )
    if code == "SECURITY_DISABLED":
        return "; this broker has no authorizer (authorizer.class.name)"
    return ""


def _exact(binding: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )
