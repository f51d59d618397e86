"""The one exception tree of ``streams``.

Every error the library raises derives from :class:`StreamsError`; third-party errors are wrapped
at the boundary (``raise ... from exc``). Messages name the offending value and say how to fix it.

    StreamsError
    ├── ConfigError                     bad settings or arguments
    ├── DescriptorError                 a product descriptor or policy file that cannot be loaded
    ├── ContractError                   an ODCS/ODPS document that breaks its standard's schema
    ├── GovernanceError                 products refused by the mesh's policies; nothing changed
    ├── PlatformError                   the embedded platform (``streams.local``)
    │   ├── PortInUseError              a port we were asked to bind is taken
    │   ├── PlatformStartError          a service did not come up; carries its log path
    │   └── PlatformNotRunningError     ``.mesh/platform.json`` names no live platform
    ├── BrokerUnavailableError          Kafka cannot be reached
    ├── BrokerAccessError               the broker refused a change to its users or ACLs
    ├── RegistryUnavailableError        the schema registry cannot be reached
    ├── SchemaError                     a schema problem
    │   ├── InvalidSchemaError          not valid Avro (or a bad reference)
    │   └── IncompatibleSchemaError     refused by the subject's compatibility level
    ├── RegistryRequestError            a registry request refused, with Confluent's error_code
    ├── OwnershipError                  a domain wrote to another domain's product
    ├── SerializationError              an event does not match its product's schema
    ├── DeserializationError            bytes that cannot be decoded (they go to the DLQ)
    ├── DeliveryError                   messages Kafka did not acknowledge
    ├── StateError                      an agent's state that cannot be checkpointed or read
    ├── QueryError                      SQL over products that DuckDB refuses (``streams.query``)
    └── BatchProcessError               a live worker's batch process failed or died

    UserWarning
    └── ProductDeprecatedWarning        a consumer reads a product its owner deprecated
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BatchProcessError",
    "BrokerAccessError",
    "BrokerUnavailableError",
    "ConfigError",
    "ContractError",
    "DeliveryError",
    "DescriptorError",
    "DeserializationError",
    "GovernanceError",
    "IncompatibleSchemaError",
    "InvalidSchemaError",
    "OwnershipError",
    "PlatformError",
    "PlatformNotRunningError",
    "PlatformStartError",
    "PortInUseError",
    "ProductDeprecatedWarning",
    "QueryError",
    "RegistryRequestError",
    "RegistryUnavailableError",
    "SchemaError",
    "SerializationError",
    "StateError",
    "StreamsError",
]


class StreamsError(Exception):
    """Root of every error raised by ``streams``."""


class ConfigError(StreamsError):
    """Settings or arguments are invalid."""


class DescriptorError(StreamsError):
    """A product descriptor (or ``governance.yaml``) cannot be loaded.

    ``path`` is the file and ``line`` (1-based) where the first problem is; the message starts
    with ``path:line`` and says how to fix it. ``problems`` lists every ``(line, message)`` found
    in the file, first one included, so a linter can report them all at once.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int,
        problems: list[tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.problems = list(problems or [(line, message)])


class ContractError(StreamsError):
    """An open-standard document (ODCS data contract, ODPS data product) that is invalid, or
    that the mesh cannot turn into a product.

    ``source`` names the document (a file, or the product exported); ``problems`` lists every
    ``<json path>: <message>`` found, the first one included in the message.
    """

    def __init__(self, message: str, *, source: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.source = source
        self.problems = list(problems)


class GovernanceError(StreamsError):
    """Products the mesh refuses to publish (``mesh product apply``); nothing was changed.

    ``violations`` holds what was refused, one item per problem: governance ``Violation``
    objects from ``streams.governance.lint``, or blocked ``Change`` objects from
    ``streams.catalog.plan`` (a change that cannot be made in place, such as partitions).
    """

    def __init__(self, message: str, *, violations: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.violations = tuple(violations)


class PlatformError(StreamsError):
    """The embedded platform could not be started, found or stopped."""


class PortInUseError(PlatformError):
    """A port the platform was asked to bind is already in use."""

    def __init__(self, message: str, *, host: str, port: int) -> None:
        super().__init__(message)
        self.host = host
        self.port = port


class PlatformStartError(PlatformError):
    """A platform service exited or did not answer in time."""

    def __init__(self, message: str, *, service: str, log_path: str | None = None) -> None:
        super().__init__(message)
        self.service = service
        self.log_path = log_path


class PlatformNotRunningError(PlatformError):
    """No running platform is recorded in the state file."""


class BrokerUnavailableError(StreamsError):
    """The Kafka broker cannot be reached."""

    def __init__(self, message: str, *, bootstrap_servers: str) -> None:
        super().__init__(message)
        self.bootstrap_servers = bootstrap_servers


class BrokerAccessError(StreamsError):
    """The broker refused (or failed) a change to its SCRAM users or ACLs.

    Attributes:
        principal: The Kafka principal concerned (``User:<name>``).
        code: The broker's error name (e.g. ``CLUSTER_AUTHORIZATION_FAILED``), when it gave one.
    """

    def __init__(self, message: str, *, principal: str, code: str | None = None) -> None:
        super().__init__(message)
        self.principal = principal
        self.code = code


class RegistryUnavailableError(StreamsError):
    """The schema registry cannot be reached."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class SchemaError(StreamsError):
    """A schema is invalid or refused."""

    def __init__(self, message: str, *, subject: str | None = None) -> None:
        super().__init__(message)
        self.subject = subject


class InvalidSchemaError(SchemaError):
    """The text is not a valid Avro schema, or one of its references cannot be resolved."""


class IncompatibleSchemaError(SchemaError):
    """A schema breaks the compatibility level of its subject.

    ``incompatibilities`` lists one human-readable line per problem, each naming where it is.
    """

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        incompatibilities: list[str] | None = None,
    ) -> None:
        super().__init__(message, subject=subject)
        self.incompatibilities = list(incompatibilities or [])


class RegistryRequestError(StreamsError):
    """A schema-registry request that the registry refuses.

    ``status`` is the HTTP status and ``error_code`` Confluent's finer code (40401 subject not
    found, 42201 invalid schema, …), so clients written for Confluent's registry understand it.
    """

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


class OwnershipError(StreamsError):
    """A producer of one domain tried to write another domain's product."""

    def __init__(self, message: str, *, domain: str, product: str) -> None:
        super().__init__(message)
        self.domain = domain
        self.product = product


class SerializationError(StreamsError):
    """An event does not match the schema of the product it is emitted to; nothing was sent.

    ``path`` is the field path (``context.playlist_id``, ``track_ids[2]``), ``expected`` the Avro
    type the schema wants there and ``value`` what the event held.
    """

    def __init__(
        self,
        message: str,
        *,
        product: str | None = None,
        path: str | None = None,
        expected: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.product = product
        self.path = path
        self.expected = expected
        self.value = value


class DeserializationError(StreamsError):
    """Bytes that cannot be decoded: not Confluent-framed, unknown schema id, or corrupt Avro.

    Consumers send such messages to the dead-letter topic with this error; it keeps where the
    message came from.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        schema_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.schema_id = schema_id


class DeliveryError(StreamsError):
    """Kafka did not acknowledge some messages; ``failures`` lists ``(topic, error)`` samples."""

    def __init__(self, message: str, *, undelivered: int, failures: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.undelivered = undelivered
        self.failures = failures


class StateError(StreamsError):
    """A derived product's state that cannot be checkpointed, or a checkpoint (of an agent or of
    the guarantees monitor) that cannot be read.

    ``product``, ``key`` and ``window`` name the accumulator at fault, when one is.
    """

    def __init__(
        self, message: str, *, product: str | None, key: str | None, window: str | None
    ) -> None:
        super().__init__(message)
        self.product = product
        self.key = key
        self.window = window


class QueryError(StreamsError):
    """A SQL query over products that cannot run (a syntax error, an unknown column, ...).

    ``query`` is the SQL as given.
    """

    def __init__(self, message: str, *, query: str) -> None:
        super().__init__(message)
        self.query = query


class BatchProcessError(StreamsError):
    """A live worker's batch process failed a call (its traceback is in the message) or died."""


class ProductDeprecatedWarning(UserWarning):
    """A consumer reads a product version its owner deprecated; the message says what to move to.

    A warning, not an error: deprecated products are still served until they are retired.
    """
