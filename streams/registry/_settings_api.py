"""Config and mode routes of the registry API (compatibility levels and READONLY/IMPORT)."""

from __future__ import annotations

from typing import Any

from streams.avro import LEVELS
from streams.errors import RegistryRequestError
from streams.registry import codes
from streams.registry._http import Request
from streams.registry._query import config_update, flag, read_body
from streams.registry.service import MODES, Registry

__all__ = ["SettingsRoutes"]

Result = Any

_LEVEL_HELP = (
    "Invalid compatibility level. Valid values are none, backward, forward, full, "
    "backward_transitive, forward_transitive, and full_transitive"
)


class SettingsRoutes:
    """``/config`` and ``/mode``, global and per subject."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # --- config -------------------------------------------------------------------------------

    def get_global_config(self, request: Request) -> Result:
        return {**self.registry.config(None), "compatibilityLevel": self.registry.level(None)}

    def get_config(self, request: Request, subject: str) -> Result:
        config = self.registry.config(subject)
        if not config:
            if flag(request, "defaultToGlobal"):
                return self.get_global_config(request)
            raise RegistryRequestError(
                404,
                codes.SUBJECT_LEVEL_CONFIG_NOT_FOUND,
                f"Subject '{subject}' does not have subject-level compatibility configured",
            )
        return config

    async def put_config(self, request: Request, subject: str | None = None) -> Result:
        body = config_update(read_body(request))
        update: dict[str, Any] = {}
        level = body.get("compatibility", body.get("compatibilityLevel"))
        if level is not None:
            if level.upper() not in LEVELS:
                raise RegistryRequestError(422, codes.INVALID_COMPATIBILITY_LEVEL, _LEVEL_HELP)
            update["compatibilityLevel"] = level.upper()
        for key in ("compatibilityGroup", "normalize", "validateFields", "alias"):
            if key in body:
                update[key] = body[key]
        if not update:
            raise RegistryRequestError(422, codes.INVALID_COMPATIBILITY_LEVEL, _LEVEL_HELP)
        await self.registry.set_config(subject, update)
        echo = {k: v for k, v in update.items() if k != "compatibilityLevel"}
        if "compatibilityLevel" in update:
            echo["compatibility"] = update["compatibilityLevel"]
        return echo

    async def delete_config(self, request: Request, subject: str | None = None) -> Result:
        old = self.registry.config(subject)
        if subject is not None and not old:
            raise RegistryRequestError(
                404, codes.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found."
            )
        await self.registry.delete_config(subject)
        if subject is None:
            return {**old, "compatibilityLevel": old.get("compatibilityLevel", "BACKWARD")}
        return old

    # --- mode --------------------------------------------------------------------------------

    def get_mode(self, request: Request, subject: str | None = None) -> Result:
        modes = self.registry.state.modes
        if subject is not None and subject not in modes and not flag(request, "defaultToGlobal"):
            raise RegistryRequestError(
                404,
                codes.SUBJECT_LEVEL_MODE_NOT_FOUND,
                f"Subject '{subject}' does not have subject-level mode configured",
            )
        return {"mode": self.registry.mode(subject)}

    async def put_mode(self, request: Request, subject: str | None = None) -> Result:
        mode = read_body(request).get("mode")
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise RegistryRequestError(
                422, codes.INVALID_MODE, f"Invalid mode. Valid values are {', '.join(MODES)}"
            )
        mode = mode.upper()
        state = self.registry.state
        has_schemas = bool(state.versions(subject)) if subject else bool(state.subject_names())
        if mode == "IMPORT" and has_schemas and not flag(request, "force"):
            raise RegistryRequestError(
                422,
                codes.OPERATION_NOT_PERMITTED,
                "Cannot import since found existing subjects; pass force=true to import anyway.",
            )
        await self.registry.set_mode(subject, mode)
        return {"mode": mode}

    async def delete_mode(self, request: Request, subject: str | None = None) -> Result:
        old = self.registry.mode(subject)
        if subject is not None and subject not in self.registry.state.modes:
            raise RegistryRequestError(
                404,
                codes.SUBJECT_LEVEL_MODE_NOT_FOUND,
                f"Subject '{subject}' does not have subject-level mode configured",
            )
        await self.registry.delete_mode(subject)
        return {"mode": old}
