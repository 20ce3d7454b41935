"""`/v3/roles`, implied roles (`/v3/roles/{prior}/implies[/{implied}]`), `/v3/role_inferences`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from nimbus.core.http import Ctx
from nimbus.identity import errors
from nimbus.identity.deps import Deps
from nimbus.identity.service import roles
from nimbus.identity.views import collection, reject_nul, self_links, v3_url

router = APIRouter(prefix="/v3", dependencies=[Depends(reject_nul)])

Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S")]


class RoleOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    immutable: StrictBool | None = None


class RoleCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Name
    description: str | None = Field(default=None, max_length=65535)
    domain_id: str | None = Field(default=None, min_length=1, max_length=64)
    options: RoleOptions = Field(default_factory=RoleOptions)


class RoleUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Name | None = None
    description: str | None = Field(default=None, max_length=65535)
    domain_id: str | None = Field(default=None, max_length=64)
    options: RoleOptions | None = None


class RoleCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: RoleCreate


class RoleUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: RoleUpdate


def extra_attributes(model: BaseModel, *, entity_id: str | None = None) -> dict[str, Any]:
    """Attributes Keystone keeps beside the known ones; an `id` must match the path."""
    extra = dict(model.model_extra or {})
    given_id = extra.pop("id", None)
    if given_id is not None and entity_id is not None and given_id != entity_id:
        raise errors.ValidationError(detail="The resource id in the body does not match the URL.")
    extra.pop("links", None)
    return extra


def role_view(request: Request, role: roles.Role) -> dict[str, Any]:
    return {**role.extra, "id": role.id, "name": role.name, "domain_id": role.domain_id,
            "description": role.description, "options": role.options,
            "links": self_links(request, f"roles/{role.id}")}


def role_ref(request: Request, role: roles.Role) -> dict[str, Any]:
    """The short form used inside inference rules."""
    return {"id": role.id, "name": role.name, "links": self_links(request, f"roles/{role.id}")}


@router.api_route("/roles", methods=["GET", "HEAD"])
async def list_roles(request: Request, deps: Deps, ctx: Ctx, name: str | None = None,
                     domain_id: str | None = None) -> dict[str, Any]:
    found = await roles.list_roles(deps, ctx, name=name, domain_id=domain_id)
    return collection(request, "roles", [role_view(request, r) for r in found])


@router.post("/roles", status_code=201)
async def create_role(request: Request, body: RoleCreateBody, deps: Deps,
                      ctx: Ctx) -> dict[str, Any]:
    spec = body.role
    role = await roles.create_role(
        deps, ctx, name=spec.name, domain_id=spec.domain_id, description=spec.description,
        options=spec.options.model_dump(exclude_unset=True), extra=extra_attributes(spec))
    return {"role": role_view(request, role)}


@router.api_route("/roles/{role_id}", methods=["GET", "HEAD"])
async def show_role(request: Request, role_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"role": role_view(request, await roles.get_role(deps, ctx, role_id))}


@router.patch("/roles/{role_id}")
async def update_role(request: Request, role_id: str, body: RoleUpdateBody, deps: Deps,
                      ctx: Ctx) -> dict[str, Any]:
    spec = body.role
    extra = extra_attributes(spec, entity_id=role_id)
    changes = spec.model_dump(exclude_unset=True, exclude=set(spec.model_extra or {}))
    if not changes and not extra:
        raise errors.ValidationError(detail="An update needs at least one attribute.")
    if "name" in changes and changes["name"] is None:
        raise errors.ValidationError(detail="A role name cannot be null.")
    if spec.options is not None:
        changes["options"] = spec.options.model_dump(exclude_unset=True)
    role = await roles.update_role(deps, ctx, role_id, changes=changes, extra=extra)
    return {"role": role_view(request, role)}


@router.delete("/roles/{role_id}", status_code=204)
async def delete_role(role_id: str, deps: Deps, ctx: Ctx) -> Response:
    await roles.delete_role(deps, ctx, role_id)
    return Response(status_code=204)


# --- implied roles -------------------------------------------------------------------------

def _inference(request: Request, prior: roles.Role, implied: roles.Role) -> dict[str, Any]:
    return {"role_inference": {"prior_role": role_ref(request, prior),
                               "implies": role_ref(request, implied)},
            "links": {"self": v3_url(request, f"roles/{prior.id}/implies/{implied.id}")}}


@router.api_route("/roles/{prior_role_id}/implies", methods=["GET", "HEAD"])
async def list_implied_roles(request: Request, prior_role_id: str, deps: Deps,
                             ctx: Ctx) -> dict[str, Any]:
    prior, implied = await roles.list_implied_roles(deps, ctx, prior_role_id)
    return {"role_inference": {"prior_role": role_ref(request, prior),
                               "implies": [role_ref(request, r) for r in implied]},
            "links": {"self": v3_url(request, f"roles/{prior.id}/implies")}}


@router.put("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=201)
async def create_implied_role(request: Request, prior_role_id: str, implied_role_id: str,
                              deps: Deps, ctx: Ctx) -> dict[str, Any]:
    prior, implied = await roles.create_implied_role(deps, ctx, prior_role_id, implied_role_id)
    return _inference(request, prior, implied)


@router.get("/roles/{prior_role_id}/implies/{implied_role_id}")
async def show_implied_role(request: Request, prior_role_id: str, implied_role_id: str,
                            deps: Deps, ctx: Ctx) -> dict[str, Any]:
    prior, implied = await roles.get_implied_role(deps, ctx, prior_role_id, implied_role_id)
    return _inference(request, prior, implied)


@router.head("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
async def check_implied_role(prior_role_id: str, implied_role_id: str, deps: Deps,
                             ctx: Ctx) -> Response:
    await roles.get_implied_role(deps, ctx, prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.delete("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
async def delete_implied_role(prior_role_id: str, implied_role_id: str, deps: Deps,
                              ctx: Ctx) -> Response:
    await roles.delete_implied_role(deps, ctx, prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.api_route("/role_inferences", methods=["GET", "HEAD"])
async def list_role_inferences(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    rules = await roles.list_role_inferences(deps, ctx)
    return {"role_inferences": [
        {"prior_role": role_ref(request, prior), "implies": [role_ref(request, r) for r in implied]}
        for prior, implied in rules],
        "links": {"self": str(request.url), "previous": None, "next": None}}
