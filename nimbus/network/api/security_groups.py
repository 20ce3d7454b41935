"""`/v2.0/security-groups` and `/v2.0/security-group-rules`: create (one or bulk), list,
show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx, OrjsonResponse
from nimbus.network import views
from nimbus.network.api.common import json_body, list_reply
from nimbus.network.deps import Deps
from nimbus.network.service import security_group_rules, security_groups

router = APIRouter()
GROUPS = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"


def _created(resource: str, items: list[dict[str, Any]], bulk: bool) -> Response:
    body = {f"{resource}s": items} if bulk else {resource: items[0]}
    return OrjsonResponse(body, status_code=201)


def _fields(request: Request) -> list[str]:
    return views.fields_of(list(request.query_params.multi_items()))


@router.post(GROUPS)
async def create_security_groups(request: Request, deps: Deps, ctx: Ctx) -> Response:
    created, bulk = await security_groups.create_security_groups(deps, ctx,
                                                                 await json_body(request))
    return _created("security_group", created, bulk)


@router.get(GROUPS)
async def list_security_groups(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "security_group",
                            security_groups.list_security_groups)


@router.get(GROUPS + "/{group_id}")
async def show_security_group(group_id: str, request: Request, deps: Deps,
                              ctx: Ctx) -> dict[str, Any]:
    group = await security_groups.get_security_group(deps, ctx, group_id)
    return {"security_group": views.shape(deps, ctx, "security_group", group, _fields(request))}


@router.put(GROUPS + "/{group_id}")
async def update_security_group(group_id: str, request: Request, deps: Deps,
                                ctx: Ctx) -> dict[str, Any]:
    group = await security_groups.update_security_group(deps, ctx, group_id,
                                                        await json_body(request))
    return {"security_group": group}


@router.delete(GROUPS + "/{group_id}", status_code=204)
async def delete_security_group(group_id: str, deps: Deps, ctx: Ctx) -> Response:
    await security_groups.delete_security_group(deps, ctx, group_id)
    return Response(status_code=204)


@router.post(RULES)
async def create_security_group_rules(request: Request, deps: Deps, ctx: Ctx) -> Response:
    created, bulk = await security_group_rules.create_rules(deps, ctx, await json_body(request))
    return _created("security_group_rule", created, bulk)


@router.get(RULES)
async def list_security_group_rules(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "security_group_rule",
                            security_group_rules.list_rules)


@router.get(RULES + "/{rule_id}")
async def show_security_group_rule(rule_id: str, request: Request, deps: Deps,
                                   ctx: Ctx) -> dict[str, Any]:
    rule = await security_group_rules.get_rule(deps, ctx, rule_id)
    return {"security_group_rule": views.shape(deps, ctx, "security_group_rule", rule,
                                               _fields(request))}


@router.put(RULES + "/{rule_id}")
async def update_security_group_rule(rule_id: str, request: Request, deps: Deps,
                                     ctx: Ctx) -> dict[str, Any]:
    rule = await security_group_rules.update_rule(deps, ctx, rule_id, await json_body(request))
    return {"security_group_rule": rule}


@router.delete(RULES + "/{rule_id}", status_code=204)
async def delete_security_group_rule(rule_id: str, deps: Deps, ctx: Ctx) -> Response:
    await security_group_rules.delete_rule(deps, ctx, rule_id)
    return Response(status_code=204)
