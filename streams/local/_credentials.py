"""The platform's admin credential, kept under the state directory (mode 0600).

``mesh up`` with authentication on uses ``<state_dir>/credentials/admin.json``, writing it the
first time: its secret becomes the Kafka super user's SCRAM password (and the registry's admin
password). The file is the platform team's key to their own platform; other machines get a
domain credential from ``mesh domain create``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from streams.config import credential_path
from streams.errors import ConfigError
from streams.identity import ADMIN, Credential, generate_credential, read_credential
from streams.identity import write_credential as _write

__all__ = ["admin_credential", "credential_path"]

logger = logging.getLogger(__name__)


def admin_credential(state_dir: Path) -> Credential:
    """The admin credential of the platform in ``state_dir``, generated and written if missing.

    Raises:
        ConfigError: The file exists but is unreadable, readable by others or not the admin's.
    """
    path = credential_path(state_dir, ADMIN)
    if not path.exists():
        _write(generate_credential(ADMIN), path)
        logger.info("wrote the admin credential to %s (mode 0600)", path)
    credential = read_credential(path)
    if not credential.is_admin:
        raise ConfigError(
            f"{path} holds the credential of {credential.name!r}, not the admin's; move it away "
            "and run `mesh up` again to write a new admin credential"
        )
    return credential
