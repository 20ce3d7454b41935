"""The server actions that move a server: their bodies checked per microversion as Nova's
schemas do, then one call each into service/moves.py."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.service import moves
from nimbus.core import errors
from nimbus.core.context import RequestContext
from nimbus.core.http import OrjsonResponse

ACTIONS = {"resize", "confirmResize", "revertResize", "migrate", "os-migrateLive", "evacuate"}


def _object(name: str, args: Any, allowed: set[str],
            required: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise errors.BadRequest(f"Invalid input for field/attribute {name}: it must be an object.")
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise errors.BadRequest(f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                                f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
    missing = sorted(required - set(args))
    if missing:
        raise errors.BadRequest(f"'{missing[0]}' is a required property")
    return args


def _host(args: dict[str, Any]) -> str | None:
    host = args.get("host")
    if host is not None and (not isinstance(host, str) or not 1 <= len(host) <= 255):
        raise errors.BadRequest("Invalid input for field/attribute host.")
    return host


def _bool(name: str, value: Any) -> bool:
    """Nova's parameter_types.boolean: JSON booleans and their usual spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "t", "y"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no", "off", "f", "n"):
        return False
    raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                            f"{value!r} is not of type 'boolean'")


async def dispatch(deps: ComputeDeps, ctx: RequestContext, server_id: str, name: str,
                   args: Any, version: Version) -> Response:
    if name == "resize":
        body = _object(name, args, {"flavorRef", "OS-DCF:diskConfig"}, {"flavorRef"})
        flavor_ref = body["flavorRef"]
        if not isinstance(flavor_ref, (str, int)) or not str(flavor_ref).strip():
            raise errors.BadRequest("Invalid input for field/attribute flavorRef.")
        disk = body.get("OS-DCF:diskConfig")
        if disk is not None and disk not in ("AUTO", "MANUAL"):
            raise errors.BadRequest("Invalid input for field/attribute OS-DCF:diskConfig.")
        await moves.resize(deps, ctx, server_id, str(flavor_ref), disk)
    # confirmResize, revertResize and migrate before 2.56 have no schema in Nova: clients
    # send null or {} and any value is ignored.
    elif name == "confirmResize":
        await moves.confirm_resize(deps, ctx, server_id)
        return Response(status_code=204)
    elif name == "revertResize":
        await moves.revert_resize(deps, ctx, server_id)
    elif name == "migrate":
        host = None
        if version >= (2, 56) and args is not None:
            host = _host(_object(name, args, {"host"}))
        await moves.migrate(deps, ctx, server_id, host)
    elif name == "os-migrateLive":
        await _live(deps, ctx, server_id, args, version)
    else:
        return await _evacuate(deps, ctx, server_id, args, version)
    return Response(status_code=202)


async def _live(deps: ComputeDeps, ctx: RequestContext, server_id: str, args: Any,
                version: Version) -> None:
    if version < (2, 25):
        body = _object("os-migrateLive", args, {"host", "block_migration", "disk_over_commit"},
                       {"host", "block_migration", "disk_over_commit"})
        _bool("disk_over_commit", body["disk_over_commit"])
        block: bool | None = _bool("block_migration", body["block_migration"])
    else:
        allowed = {"host", "block_migration"} | ({"force"} if (2, 30) <= version < (2, 68)
                                                 else set())
        body = _object("os-migrateLive", args, allowed, {"host", "block_migration"})
        raw = body["block_migration"]
        block = None if raw == "auto" else _bool("block_migration", raw)
        if "force" in body:
            _bool("force", body["force"])  # a forced host skips nothing here: it is validated
    # Before 2.34 Nova runs the live-migration pre-checks while the request waits (a refusal
    # is a 400); from 2.34 it answers 202 first and a refusal ends the migration in error.
    await moves.live_migrate(deps, ctx, server_id, _host(body), block,
                             checks_now=version < (2, 34))


async def _evacuate(deps: ComputeDeps, ctx: RequestContext, server_id: str, args: Any,
                    version: Version) -> Response:
    allowed = {"host", "adminPass"} | ({"onSharedStorage"} if version < (2, 14) else set()) \
        | ({"force"} if (2, 29) <= version < (2, 68) else set())
    body = _object("evacuate", args, allowed, {"onSharedStorage"} if version < (2, 14) else set())
    shared = _bool("onSharedStorage", body["onSharedStorage"]) if version < (2, 14) else False
    admin_pass = body.get("adminPass")
    if admin_pass is not None and not isinstance(admin_pass, str):
        raise errors.BadRequest("Invalid input for field/attribute adminPass.")
    if admin_pass is not None and shared:
        raise errors.BadRequest("admin password can't be changed on existing disk")
    if "force" in body:
        _bool("force", body["force"])
    password = await moves.evacuate(deps, ctx, server_id, _host(body), admin_pass, shared)
    if version < (2, 14) and not shared:
        return OrjsonResponse({"adminPass": password})
    return Response(status_code=200)
