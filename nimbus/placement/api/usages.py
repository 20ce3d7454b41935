"""`/resource_providers/{uuid}/usages` and `/usages?project_id=` (from 1.9)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nimbus.core.http import Ctx
from nimbus.placement import errors
from nimbus.placement.api.common import check_query, respond
from nimbus.placement.api.microversion import Version, require
from nimbus.placement.deps import Deps
from nimbus.placement.service import usages

router = APIRouter()
_TYPE = re.compile(r"^[A-Z0-9_]+$|^all$|^unknown$")


@router.get("/resource_providers/{uuid}/usages")
async def provider_usages(uuid: str, deps: Deps, ctx: Ctx, version: Version) -> Response:
    provider, found = await usages.provider_usages(deps, ctx, uuid)
    return respond({"resource_provider_generation": provider.generation, "usages": found}, version)


@router.get("/usages")
async def project_usages(request: Request, deps: Deps, ctx: Ctx, version: Version) -> Response:
    require(version, (1, 9))
    with_types = version >= (1, 38)
    check_query(request, ("project_id", "user_id", "consumer_type") if with_types
                else ("project_id", "user_id"))
    q = request.query_params
    project_id, user_id = q.get("project_id"), q.get("user_id")
    if not project_id:
        raise errors.InvalidInput(detail="Invalid query string parameters: 'project_id' is a "
                                         "required property")
    if not with_types:
        return respond({"usages": await usages.project_usages(deps, ctx, project_id, user_id)},
                       version)
    consumer_type = q.get("consumer_type")
    if consumer_type is not None and not _TYPE.match(consumer_type):
        raise errors.InvalidInput(detail="Invalid query string parameters: consumer_type "
                                         f"'{consumer_type}' is not valid")
    found = await usages.project_usages_by_type(deps, ctx, project_id, user_id, consumer_type)
    return respond({"usages": found}, version)
