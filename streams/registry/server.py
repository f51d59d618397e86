"""Running the registry: storage, state, API and HTTP server wired together.

Highly available registry: any number of instances may run on one log topic. Each follows the
topic and answers reads; the one elected through Kafka (:mod:`~streams.registry._election`) is
the primary and the only one that writes. On election it fences any other writer
(``init_transactions`` on the shared transactional id) and re-reads the log to its end before
its first decision, so no acknowledged registration is lost and no id is handed out twice. The
others relay writes to the primary's advertised URL (:mod:`~streams.registry._forward`). A single
instance simply wins the election at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from streams.config import BrokerKind, KafkaSettings
from streams.errors import ConfigError
from streams.identity import Credential
from streams.kafka.access import BrokerAccess
from streams.pii import KeyProvider, LocalKeyProvider, read_secret_file
from streams.registry._access import AccessBook, access_topic
from streams.registry._access_api import AccessRoutes
from streams.registry._auth import Gate
from streams.registry._broker import broker_access
from streams.registry._classify import registered_classification
from streams.registry._domains import DomainBook, DomainLog, KafkaDomainLog, MemoryDomainLog
from streams.registry._domains_api import DomainRoutes
from streams.registry._forward import Forwarder
from streams.registry._http import HttpLimits, HttpServer
from streams.registry._keyring import KEYS_TOPIC, Keyring
from streams.registry._keys_api import Classify, KeyRoutes, MayRead
from streams.registry.api import Api
from streams.registry.service import Registry
from streams.registry.storage import KafkaStorage, Storage

__all__ = ["KeyService", "RegistryAuth", "RegistryServer", "serve"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RegistryAuth:
    """Authentication and authorization of a registry (:mod:`streams.registry._auth`).

    Attributes:
        admin: The admin credential: the registry runs as the admin and signs the records it
            writes on ``_mesh.domains`` with it.
        domains: Where the domain book is kept (``KafkaDomainLog`` on ``_mesh.domains``).
        anonymous_reads: Let requests without credentials read.
        broker: The broker's enforcement point, told about changes of domains and grants
            (default: none, reported as not enforced).
        access: Where the grants are kept (``KafkaDomainLog`` on ``_mesh.access``; default: in
            memory, for tests).
    """

    admin: Credential
    domains: DomainLog
    anonymous_reads: bool = False
    broker: BrokerAccess | None = None
    access: DomainLog = field(default_factory=MemoryDomainLog)

    def __post_init__(self) -> None:
        if not self.admin.is_admin:
            raise ConfigError(admin_required(self.admin.name))


def admin_required(name: str | None) -> str:
    """The error when the registry would run with authentication but not as the admin."""
    who = "no identity" if name is None else f"identity {name!r}"
    return (
        f"registry.auth is on but the registry runs as {who}: it must run as the admin, "
        "whose key signs the mesh's domain records; set STREAMS_IDENTITY__FILE to the admin's "
        "credential (`mesh up` writes <state_dir>/credentials/admin.json), or turn "
        "authentication off with STREAMS_REGISTRY__AUTH=false"
    )


@dataclass(frozen=True, kw_only=True)
class KeyService:
    """The key service of PII protection (:mod:`streams.registry._keys_api`).

    Attributes:
        provider: Holds the KEK (``LocalKeyProvider`` under the keys directory by default).
        pseudonym_key: The mesh's pseudonym key.
        log: Where the batches of wrapped keys are kept (``_mesh.keys``).
        may_read: Who may have a product's keys released (None: the registry's grants,
            :meth:`AccessBook.may_read`: the admin, the owning domain, a grant holder, and any
            identity for public and internal products).
        classify: A product id's classification (None: the one its owner registered in the
            product schema's metadata, :func:`registered_classification`).
    """

    provider: KeyProvider
    pseudonym_key: bytes
    log: DomainLog
    may_read: MayRead | None = None
    classify: Classify | None = None


class RegistryServer:
    """A registry bound to a port; ``start``/``close`` inside a running event loop.

    Args:
        storage: where the log lives (``KafkaStorage`` in production, ``MemoryStorage`` in tests).
        host: address to bind.
        port: port to bind; 0 picks a free one (see :attr:`port`).
        limits: bounds on connections, timeouts and buffered bytes (default: HttpLimits()).
        advertised_url: the URL other instances forward writes to (default: :attr:`url`).
        election_wait_s: how long a write on a secondary waits for a primary to answer.
        auth: authentication and authorization (None: every request is let through).
        keys: the key service (None: no ``/mesh/v1/keys`` routes).
    """

    def __init__(
        self,
        *,
        storage: Storage,
        host: str = "127.0.0.1",
        port: int = 8081,
        limits: HttpLimits | None = None,
        advertised_url: str | None = None,
        election_wait_s: float = 15.0,
        auth: RegistryAuth | None = None,
        keys: KeyService | None = None,
    ) -> None:
        self.registry = Registry(storage=storage)
        self.keys = keys
        self.keyring = (
            None
            if keys is None
            else Keyring(
                provider=keys.provider,
                pseudonym_key=keys.pseudonym_key,
                admin=auth.admin if auth is not None else None,
            )
        )
        self.auth = auth
        self.book = DomainBook(admin=auth.admin) if auth is not None else None
        # The grants; :meth:`AccessBook.may_read` decides who may read a product's data (without
        # authentication the book stays empty, and every caller is None: everyone may).
        self.grants = AccessBook(admin=auth.admin if auth is not None else None)
        gate = (
            Gate(book=self.book, anonymous_reads=auth.anonymous_reads)
            if auth is not None and self.book is not None
            else None
        )
        domains = DomainRoutes(
            book=self.book,
            log=auth.domains if auth is not None else None,
            broker=auth.broker if auth is not None else None,
            grants=self.grants if auth is not None else None,
        )
        access = AccessRoutes(
            book=self.grants if auth is not None else None,
            log=auth.access if auth is not None else None,
            domains=self.book,
            broker=auth.broker if auth is not None else None,
        )
        key_routes = (
            None
            if keys is None or self.keyring is None
            else KeyRoutes(
                keyring=self.keyring,
                log=keys.log,
                # The grants decide who is released a product's data keys.
                may_read=keys.may_read or self.grants.may_read,
                classify=keys.classify or registered_classification(self.registry),
            )
        )
        self.api = Api(self.registry, domains=domains, access=access, keys=key_routes)
        self._storage = storage
        self._host = host
        self._port = port
        self._advertised = advertised_url
        self._listening = False
        self.primary = False  # elected (maybe still taking over)
        self._promotion: asyncio.Task[None] | None = None
        self.forwarder = Forwarder(
            self.api,
            primary=lambda: self.primary,
            primary_url=lambda: self._storage.primary_url,
            own_url=lambda: self.advertised_url if self._listening else None,
            wait_s=election_wait_s,
        )
        self._http = HttpServer(
            handler=self.forwarder,
            fast=self.api.fast,
            fast_key=self.api.fast_key,
            limits=limits,
            gate=gate,
        )

    async def start(self) -> None:
        """Join the election, rebuild the state from storage, then start answering.

        Start-up does not wait for the election (a group join takes ~3 s on the embedded
        broker): reads are answered at once, writes wait for the outcome (see Forwarder).
        """
        started = time.monotonic()
        loop = asyncio.get_running_loop()

        def changed(primary: bool) -> None:
            loop.call_soon_threadsafe(self._role_changed, primary)

        await loop.run_in_executor(None, self._storage.elect, changed)
        async with self.registry.lock:
            if self._promotion is None:  # else the promotion read the log already
                await loop.run_in_executor(None, self.registry.load)
        self.registry.follow(loop)  # records written by others from here on
        await self._load_domains(loop)
        await self._load_grants(loop)
        await self._load_keys(loop)
        self.api.refresh(None)
        await self._http.start(self._host, self._port)
        self._listening = True
        if self.primary and self._promotion is not None and self._promotion.done():
            await loop.run_in_executor(None, self._storage.publish, self.advertised_url)
        logger.info(
            "schema registry on http://%s:%d (%d schemas, %.0f ms; joining the election)",
            self._host,
            self.port,
            len(self.registry.state.schemas),
            (time.monotonic() - started) * 1000,
        )

    async def _load_domains(self, loop: asyncio.AbstractEventLoop) -> None:
        """Rebuild the domain book from its log, then follow the log (other instances)."""
        book, auth = self.book, self.auth
        if book is None or auth is None:
            return
        records = await loop.run_in_executor(None, lambda: list(auth.domains.replay()))
        for key, value in records:
            book.apply(key, value)

        def deliver(batch: list[tuple[bytes, bytes | None]]) -> None:
            for key, value in batch:
                loop.call_soon_threadsafe(book.apply, key, value)

        auth.domains.follow(deliver)
        logger.info("authentication on: %d domain(s) known", len(book.domains))

    async def _load_keys(self, loop: asyncio.AbstractEventLoop) -> None:
        """Rebuild the batches of wrapped keys from ``_mesh.keys``, then follow it."""
        keys, keyring = self.keys, self.keyring
        if keys is None or keyring is None:
            return
        records = await loop.run_in_executor(None, lambda: list(keys.log.replay()))
        for key, value in records:
            keyring.apply(key, value)

        def deliver(batch: list[tuple[bytes, bytes | None]]) -> None:
            for key, value in batch:
                loop.call_soon_threadsafe(keyring.apply, key, value)

        keys.log.follow(deliver)
        logger.info("key service on: %d key batch(es) on %s", len(keyring.batches), KEYS_TOPIC)

    async def _load_grants(self, loop: asyncio.AbstractEventLoop) -> None:
        """Rebuild the grants from their log, then follow the log (other instances)."""
        grants, auth = self.grants, self.auth
        if auth is None:
            return
        records = await loop.run_in_executor(None, lambda: list(auth.access.replay()))
        for key, value in records:
            grants.apply(key, value)

        def deliver_grants(batch: list[tuple[bytes, bytes | None]]) -> None:
            for key, value in batch:
                loop.call_soon_threadsafe(grants.apply, key, value)

        auth.access.follow(deliver_grants)
        logger.info("%d access record(s) known", len(grants.grants))

    def _role_changed(self, primary: bool) -> None:
        self.primary = primary
        if not primary:
            self._storage.step_down()
            return
        self._promotion = asyncio.get_running_loop().create_task(self._promote())

    async def _promote(self) -> None:
        try:
            await self.registry.promote()
        except Exception:  # the next election or write tries again
            logger.exception("taking over as the registry's primary failed")
            return
        if self._listening and self.primary:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._storage.publish, self.advertised_url)

    @property
    def writable(self) -> bool:
        """Whether a write is answered now: this instance took over, or knows the primary."""
        if self.primary:
            promotion = self._promotion
            return (
                promotion is not None
                and promotion.done()
                and not promotion.cancelled()
                and promotion.exception() is None
            )
        return self._storage.primary_url not in (None, self.advertised_url)

    @property
    def advertised_url(self) -> str:
        """The URL other instances forward writes to."""
        return self._advertised or self.url

    @property
    def port(self) -> int:
        """The bound port."""
        return self._http.port

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://{self._host}:{self.port}"

    async def close(self) -> None:
        """Stop answering and release the Kafka clients."""
        await self._http.close()
        await self.forwarder.close()
        loop = asyncio.get_running_loop()
        if self.auth is not None:
            await loop.run_in_executor(None, self.auth.domains.close)
            await loop.run_in_executor(None, self.auth.access.close)
        if self.keys is not None:
            await loop.run_in_executor(None, self.keys.log.close)
        await loop.run_in_executor(None, self._storage.close)


def serve(
    *,
    host: str,
    port: int,
    kafka: KafkaSettings | None = None,
    bootstrap_servers: str | None = None,
    topic: str = "_schemas",
    advertised_url: str | None = None,
    auth: bool = False,
    identity: Credential | None = None,
    anonymous_reads: bool = False,
    broker_kind: BrokerKind | None = None,
    keys_dir: Path | None = None,
) -> None:
    """Run the registry until SIGTERM or SIGINT; its state lives in ``topic`` on Kafka.

    Args:
        host: Address to listen on.
        port: Port to listen on.
        kafka: The cluster storing the schemas, with its SASL/TLS settings.
        bootstrap_servers: Shorthand for a PLAINTEXT ``kafka``; give one of the two.
        topic: The log topic.
        advertised_url: Where other instances forward writes (default: ``http://HOST:PORT``).
        auth: Authenticate and authorize every request (the registry then runs as the admin).
        identity: The registry's own identity: the admin when ``auth`` is on.
        anonymous_reads: With ``auth``, let requests without credentials read.
        broker_kind: The broker's kind when known (``tansu``: no ACL call is ever made); None
            asks the broker whether it enforces ACLs before the first change.
        keys_dir: Where the KEK (``kek.json``) and the pseudonym key (``pseudonym.json``) are
            kept, created (0600) the first time; None: no key service.

    Raises:
        ConfigError: ``auth`` is on and ``identity`` is not the admin.
    """
    access: RegistryAuth | None = None
    if auth:
        if identity is None or not identity.is_admin:
            raise ConfigError(admin_required(None if identity is None else identity.name))
        settings = kafka or KafkaSettings(bootstrap_servers=bootstrap_servers or "")
        access = RegistryAuth(
            admin=identity,
            domains=KafkaDomainLog(kafka=settings),
            anonymous_reads=anonymous_reads,
            broker=broker_access(settings, broker_kind=broker_kind),
            access=KafkaDomainLog(kafka=settings, topic=access_topic()),
        )
    storage = KafkaStorage(kafka=kafka, bootstrap_servers=bootstrap_servers, topic=topic)
    service = None
    if keys_dir is not None:
        cluster = kafka or KafkaSettings(bootstrap_servers=bootstrap_servers or "")
        service = KeyService(
            provider=LocalKeyProvider(keys_dir / "kek.json"),
            pseudonym_key=read_secret_file(keys_dir / "pseudonym.json", create=True),
            log=KafkaDomainLog(kafka=cluster, topic=KEYS_TOPIC),
        )

    async def main() -> None:
        server = RegistryServer(
            storage=storage,
            host=host,
            port=port,
            advertised_url=advertised_url,
            auth=access,
            keys=service,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await server.start()
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await server.close()

    asyncio.run(main())
