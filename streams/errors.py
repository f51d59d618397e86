"""The one exception tree of ``streams``.

Every error the library raises derives from :class:`StreamsError`; third-party errors are wrapped
at the boundary (``raise ... from exc``). Messages name the offending value and say how to fix it.

    StreamsError
    ├── ConfigError                     bad settings or arguments
    ├── PlatformError                   the embedded platform (``streams.local``)
    │   ├── PortInUseError              a port we were asked to bind is taken
    │   ├── PlatformStartError          a service did not come up; carries its log path
    │   └── PlatformNotRunningError     ``.mesh/platform.json`` names no live platform
    ├── BrokerUnavailableError          Kafka cannot be reached
    ├── RegistryUnavailableError        the schema registry cannot be reached
    ├── SchemaError                     a schema problem
    │   ├── InvalidSchemaError          not valid Avro (or a bad reference)
    │   └── IncompatibleSchemaError     refused by the subject's compatibility level
    └── RegistryRequestError            a registry request refused, with Confluent's error_code
"""

from __future__ import annotations

__all__ = [
    "BrokerUnavailableError",
    "ConfigError",
    "IncompatibleSchemaError",
    "InvalidSchemaError",
    "PlatformError",
    "PlatformNotRunningError",
    "PlatformStartError",
    "PortInUseError",
    "RegistryRequestError",
    "RegistryUnavailableError",
    "SchemaError",
    "StreamsError",
]


class StreamsError(Exception):
    """Root of every error raised by ``streams``."""


class ConfigError(StreamsError):
    """Settings or arguments are invalid."""


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
