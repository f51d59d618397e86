"""Client-side access to products: ask for, grant, revoke and list access (the registry's
``/mesh/v1/access``), as :class:`AccessRecord` values.

Personal-data protection lives in :mod:`streams.pii` (pseudonyms, per-subject encryption, key
providers); ``Producer.emit`` protects records and ``Consumer`` reveals them with the keys the
registry's key service (``/mesh/v1/keys``) releases (``streams.kafka``).
"""

from __future__ import annotations

from streams.access._grants import AccessClient, AccessRecord, AccessState

__all__ = ["AccessClient", "AccessRecord", "AccessState"]
