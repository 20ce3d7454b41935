"""`/v3/domains`: create, list, show, update and delete domains."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx
from nimbus.identity import views
from nimbus.identity.deps import Deps
from nimbus.identity.schemas_resources import DomainCreateRequest, DomainUpdateRequest, QueryStr
from nimbus.identity.service import domains

router = APIRouter(prefix="/v3")


@router.post("/domains", status_code=201)
async def create_domain(request: Request, body: DomainCreateRequest, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    d = body.domain
    extra = d.extra()
    extra.update({k: v for k, v in (("options", d.options), ("tags", d.tags)) if v is not None})
    ref = await domains.create_domain(deps, ctx, name=d.name, description=d.description,
                                      enabled=d.enabled, explicit_id=d.explicit_domain_id,
                                      extra=extra)
    return {"domain": views.member(request, "domains", ref)}


@router.api_route("/domains", methods=["GET", "HEAD"])
async def list_domains(request: Request, deps: Deps, ctx: Ctx, name: QueryStr = None,
                       enabled: QueryStr = None) -> dict[str, Any]:
    refs = await domains.list_domains(deps, ctx, name=name, enabled=views.query_bool(enabled))
    return views.members(request, "domains", "domains", refs)


@router.api_route("/domains/{domain_id}", methods=["GET", "HEAD"])
async def show_domain(request: Request, domain_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    ref = await domains.get_domain(deps, ctx, domain_id)
    return {"domain": views.member(request, "domains", ref)}


@router.patch("/domains/{domain_id}")
async def update_domain(request: Request, domain_id: str, body: DomainUpdateRequest, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    ref = await domains.update_domain(deps, ctx, domain_id, body.domain.changes())
    return {"domain": views.member(request, "domains", ref)}


@router.delete("/domains/{domain_id}", status_code=204)
async def delete_domain(domain_id: str, deps: Deps, ctx: Ctx) -> Response:
    await domains.delete_domain(deps, ctx, domain_id)
    return Response(status_code=204)
