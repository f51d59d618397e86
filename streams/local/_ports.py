"""Checking and choosing TCP ports for the embedded services."""

from __future__ import annotations

import errno
import socket

from streams.errors import PortInUseError

__all__ = ["can_connect", "check_port_free", "find_free_port", "is_port_free"]


def is_port_free(host: str, port: int) -> bool:
    """Whether a server could bind ``host:port`` right now.

    Args:
        host: Interface address, e.g. ``127.0.0.1``.
        port: TCP port.

    Returns:
        True when binding succeeds.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR too; without it a harmless TIME_WAIT left by an earlier run
        # would look like a conflict.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def check_port_free(host: str, port: int, *, flag: str) -> None:
    """Raise when ``host:port`` is taken, saying how to get out of it.

    Args:
        host: Interface address.
        port: TCP port.
        flag: The command-line flag that chooses this port, named in the message.

    Raises:
        PortInUseError: The port cannot be bound.
    """
    if not is_port_free(host, port):
        raise PortInUseError(
            f"port {port} on {host} is in use; stop what uses it, pass {flag}, or use --free-ports",
            host=host,
            port=port,
        )


def find_free_port(host: str, *, exclude: frozenset[int] = frozenset()) -> int:
    """A port the kernel reports free on ``host``.

    Another process may still grab it before our server binds it; the window is small and a
    failed start says so clearly.

    Args:
        host: Interface address.
        exclude: Ports already chosen for other services.

    Returns:
        A free port number.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in exclude:
            return port


def can_connect(host: str, port: int, *, timeout_s: float) -> bool:
    """Try one TCP connection.

    Args:
        host: Address to connect to.
        port: TCP port.
        timeout_s: Connect timeout.

    Returns:
        True when something accepted the connection.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
