"""Grants on projects, domains and the system (and OS-INHERIT), and `/v3/role_assignments`.

    PUT | GET | HEAD | DELETE  .../roles/{role_id}   grant, check (204), revoke
    GET                        .../roles             the roles granted at that point
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import QueryParams

from nimbus.core.http import Ctx
from nimbus.identity.api.roles import role_view
from nimbus.identity.deps import Deps
from nimbus.identity.service import assignments
from nimbus.identity.service.assignments import ActorKind, GrantPoint, TargetKind
from nimbus.identity.service.effective import SYSTEM_TARGET
from nimbus.identity.views import collection, reject_nul, v3_url

router = APIRouter(prefix="/v3", dependencies=[Depends(reject_nul)])

_PLURAL = {"user": "users", "group": "groups", "project": "projects", "domain": "domains"}


def _point(request: Request, actor: ActorKind, target: TargetKind,
           inherited: bool) -> GrantPoint:
    params = request.path_params
    return GrantPoint(actor=actor, actor_id=params["actor_id"], target=target,
                      target_id=params.get("target_id", SYSTEM_TARGET),
                      inherited=inherited)


def _grant_routes(actor: ActorKind, target: TargetKind, *, inherited: bool = False,
                  listable: bool = True) -> None:
    """Register one grant family, e.g. /projects/{p}/users/{u}/roles[/{r}]."""
    if target == "system":
        base = f"/system/{_PLURAL[actor]}/{{actor_id}}/roles"
    else:
        base = f"/{_PLURAL[target]}/{{target_id}}/{_PLURAL[actor]}/{{actor_id}}/roles"
    if inherited:
        base = "/OS-INHERIT" + base
    suffix = "/inherited_to_projects" if inherited else ""

    def handler(action: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[Response]]:
        async def endpoint(request: Request, deps: Deps, ctx: Ctx) -> Response:
            await action(deps, ctx, _point(request, actor, target, inherited),
                         request.path_params["role_id"])
            return Response(status_code=204)
        return endpoint

    async def list_grants(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
        found = await assignments.list_grants(deps, ctx, _point(request, actor, target, inherited))
        return collection(request, "roles", [role_view(request, r) for r in found])

    item = f"{base}/{{role_id}}{suffix}"
    router.add_api_route(item, handler(assignments.create_grant), methods=["PUT"],
                         status_code=204)
    router.add_api_route(item, handler(assignments.check_grant), methods=["GET", "HEAD"],
                         status_code=204)
    router.add_api_route(item, handler(assignments.revoke_grant), methods=["DELETE"],
                         status_code=204)
    if listable:
        router.add_api_route(f"{base}{suffix}", list_grants, methods=["GET", "HEAD"])


_ACTORS: tuple[ActorKind, ...] = ("user", "group")
for _actor in _ACTORS:
    _grant_routes(_actor, "project")
    _grant_routes(_actor, "domain")
    _grant_routes(_actor, "system")
    _grant_routes(_actor, "domain", inherited=True)
    # Keystone has no list call for grants inherited from a project.
    _grant_routes(_actor, "project", inherited=True, listable=False)


# --- /v3/role_assignments ------------------------------------------------------------------

def _flag(params: QueryParams, name: str) -> bool:
    """Keystone's query_filter_is_true: present and not "0"/"false" (an empty value is true)."""
    if name not in params:
        return False
    return params[name].lower() not in ("0", "false")


def _query(params: QueryParams) -> assignments.AssignmentQuery:
    def get(name: str) -> str | None:
        return params.get(name) or None

    return assignments.AssignmentQuery(
        user_id=get("user.id"), group_id=get("group.id"), role_id=get("role.id"),
        project_id=get("scope.project.id"), domain_id=get("scope.domain.id"),
        system=get("scope.system"), inherited_to=get("scope.OS-INHERIT:inherited_to"),
        effective=_flag(params, "effective"), include_names=_flag(params, "include_names"),
        include_subtree=_flag(params, "include_subtree"))


def assignment_view(request: Request, a: assignments.RoleAssignment) -> dict[str, Any]:
    """Keystone's shape: scope, user or group, role, and links to the grant behind it."""
    names = a.names or {}
    entity: dict[str, Any] = {"links": {}}
    inherited = a.inherited
    path = ""
    if a.project_id:
        entity["scope"] = {"project": names.get("project", {"id": a.project_id})}
        if a.via_domain_id:
            inherited, path = True, f"/domains/{a.via_domain_id}"
        elif a.via_project_id:
            inherited, path = True, f"/projects/{a.via_project_id}"
        else:
            path = f"/projects/{a.project_id}"
    elif a.domain_id:
        entity["scope"] = {"domain": names.get("domain", {"id": a.domain_id})}
        path = f"/domains/{a.domain_id}"
    elif a.system:
        entity["scope"] = {"system": {"all": True}}
        path = "/system"
    if a.user_id:
        entity["user"] = names.get("user", {"id": a.user_id})
        if a.via_group_id:
            entity["links"]["membership"] = v3_url(
                request, f"groups/{a.via_group_id}/users/{a.user_id}")
            path += f"/groups/{a.via_group_id}"
        else:
            path += f"/users/{a.user_id}"
    elif a.group_id:
        entity["group"] = names.get("group", {"id": a.group_id})
        path += f"/groups/{a.group_id}"
    entity["role"] = names.get("role", {"id": a.role_id})
    path += f"/roles/{a.prior_role_id or a.role_id}"
    if inherited:
        entity["scope"]["OS-INHERIT:inherited_to"] = "projects"
        path = f"/OS-INHERIT{path}/inherited_to_projects"
    entity["links"]["assignment"] = v3_url(request, path)
    if a.prior_role_id:
        entity["links"]["prior_role"] = v3_url(
            request, f"roles/{a.prior_role_id}/implies/{a.role_id}")
    return entity


@router.api_route("/role_assignments", methods=["GET", "HEAD"])
async def list_role_assignments(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    found = await assignments.list_role_assignments(deps, ctx, _query(request.query_params))
    return collection(request, "role_assignments", [assignment_view(request, a) for a in found])
