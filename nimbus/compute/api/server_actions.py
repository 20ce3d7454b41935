"""`POST /servers/{id}/action` and `/servers/{id}/os-instance-actions`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.compute import views
from nimbus.compute.api import lifecycle_actions, move_actions, params
from nimbus.compute.api.versioning import Version
from nimbus.compute.deps import Deps
from nimbus.compute.schemas import ResetStateRequest
from nimbus.compute.service import instance_actions, server_actions, servers
from nimbus.compute.states import VmState
from nimbus.core import errors
from nimbus.core.http import Ctx, OrjsonResponse

router = APIRouter(prefix="/v2.1/servers/{server_id}")

_SIMPLE = {"os-stop", "os-start", "pause", "unpause", "suspend", "resume"}


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise errors.BadRequest("Malformed request body.") from None
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("An action body has exactly one key: the action's name.")
    return body


@router.post("/action")
async def server_action(request: Request, server_id: str, deps: Deps, ctx: Ctx,
                        version: Version) -> Response:
    body = await _body(request)
    name, args = next(iter(body.items()))
    if name in _SIMPLE:
        await server_actions.power_action(deps, ctx, server_id, name)
    elif name == "reboot":
        kind = (args or {}).get("type") if isinstance(args, dict) else None
        if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
            raise errors.BadRequest("Invalid input for field/attribute type: it must be SOFT or HARD.")
        await server_actions.power_action(deps, ctx, server_id, f"reboot_{kind.lower()}")
    elif name in ("lock", "unlock"):
        reason = args.get("locked_reason") if isinstance(args, dict) else None
        if reason is not None and (version < (2, 73) or name == "unlock"):
            raise errors.BadRequest("locked_reason needs microversion 2.73 and the lock action.")
        await server_actions.set_lock(deps, ctx, server_id, name == "lock", reason)
    elif name == "forceDelete":
        await servers.delete_server(deps, ctx, server_id, force=True)
    elif name == "os-resetState":
        reset = (await params.body_as(request, ResetStateRequest)).reset
        await server_actions.reset_state(deps, ctx, server_id, VmState(reset.state))
    elif name == "restore":
        await server_actions.restore(deps, ctx, server_id)
    elif name in move_actions.ACTIONS:
        return await move_actions.dispatch(deps, ctx, server_id, name, args, version)
    elif name == "os-getConsoleOutput":
        length = (args or {}).get("length") if isinstance(args, dict) else None
        if length is not None:
            try:
                length = int(length)
            except (TypeError, ValueError):
                raise errors.BadRequest("length must be an integer") from None
            if length < -1:
                raise errors.BadRequest("length must be -1 or more")
            if length == -1:
                length = None
        output = await server_actions.console_output(deps, ctx, server_id, length)
        return OrjsonResponse({"output": output})
    elif name in lifecycle_actions.ACTIONS:
        return await lifecycle_actions.dispatch(request, name, server_id, deps, ctx, version)
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return Response(status_code=202)


@router.get("/os-instance-actions")
async def list_instance_actions(server_id: str, deps: Deps, ctx: Ctx,
                                version: Version) -> dict[str, Any]:
    found = await instance_actions.list_actions(deps, ctx, server_id)
    return {"instanceActions": [views.instance_action(a, version) for a in found]}


@router.get("/os-instance-actions/{request_id}")
async def show_instance_action(server_id: str, request_id: str, deps: Deps, ctx: Ctx,
                               version: Version) -> dict[str, Any]:
    action = await instance_actions.get_action(deps, ctx, server_id, request_id)
    return {"instanceAction": views.instance_action_with_events(
        action, version, is_admin=ctx.is_admin, project_id=action.row.project_id or "")}
