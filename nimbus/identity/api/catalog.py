"""`/v3/regions`, `/v3/services`, `/v3/endpoints`: the catalog tokens carry."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from nimbus.core.http import Ctx
from nimbus.identity import errors
from nimbus.identity.api.roles import extra_attributes
from nimbus.identity.deps import Deps
from nimbus.identity.service import catalog_admin
from nimbus.identity.views import collection, reject_nul, self_links

router = APIRouter(prefix="/v3", dependencies=[Depends(reject_nul)])

RegionId = Annotated[str, Field(min_length=1, max_length=255)]
Text255 = Annotated[str, Field(max_length=255)]
ServiceType = Annotated[str, Field(min_length=1, max_length=255)]
Url = Annotated[str, Field(max_length=225, pattern=r"^[a-zA-Z0-9+.-]+:.+")]
Interface = Literal["public", "internal", "admin"]


class _Open(BaseModel):
    """Keystone keeps unknown attributes of catalog entities and returns them."""

    model_config = ConfigDict(extra="allow")


class RegionSpec(_Open):
    id: RegionId | None = None
    description: Text255 | None = None
    parent_region_id: RegionId | None = None


class RegionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: RegionSpec = Field(default_factory=RegionSpec)


class ServiceCreate(_Open):
    type: ServiceType
    name: Text255 | None = None
    description: str | None = Field(default=None, max_length=65535)
    enabled: StrictBool = True


class ServiceUpdate(_Open):
    type: ServiceType | None = None
    name: Text255 | None = None
    description: str | None = Field(default=None, max_length=65535)
    enabled: StrictBool | None = None


class ServiceCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: ServiceCreate


class ServiceUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: ServiceUpdate


class EndpointCreate(_Open):
    interface: Interface
    service_id: str = Field(min_length=1, max_length=64)
    url: Url
    region_id: RegionId | None = None
    region: RegionId | None = None
    enabled: StrictBool = True
    name: Text255 | None = None
    description: str | None = Field(default=None, max_length=65535)


class EndpointUpdate(_Open):
    interface: Interface | None = None
    service_id: str | None = Field(default=None, min_length=1, max_length=64)
    url: Url | None = None
    region_id: RegionId | None = None
    region: RegionId | None = None
    enabled: StrictBool | None = None
    name: Text255 | None = None
    description: str | None = Field(default=None, max_length=65535)


class EndpointCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoint: EndpointCreate


class EndpointUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoint: EndpointUpdate


def _changes(spec: BaseModel, *, not_null: tuple[str, ...]) -> dict[str, Any]:
    """The known attributes the request sets; 400 for null where Keystone forbids it."""
    changes = spec.model_dump(exclude_unset=True, exclude=set(spec.model_extra or {}))
    for name in not_null:
        if name in changes and changes[name] is None:
            raise errors.ValidationError(detail=f"Invalid input for field/attribute {name}: "
                                                "None is not allowed.")
    return changes


def _require_some(changes: dict[str, Any], extra: dict[str, Any]) -> None:
    if not changes and not extra:
        raise errors.ValidationError(detail="An update needs at least one attribute.")


# --- regions -------------------------------------------------------------------------------

def region_view(request: Request, region: catalog_admin.Region) -> dict[str, Any]:
    return {**region.extra, "id": region.id, "description": region.description,
            "parent_region_id": region.parent_region_id,
            "links": self_links(request, f"regions/{region.id}")}


@router.api_route("/regions", methods=["GET", "HEAD"])
async def list_regions(request: Request, deps: Deps, ctx: Ctx,
                       parent_region_id: str | None = None) -> dict[str, Any]:
    found = await catalog_admin.list_regions(deps, ctx, parent_region_id=parent_region_id)
    return collection(request, "regions", [region_view(request, r) for r in found])


async def _create_region(request: Request, deps: Deps, ctx: Ctx, spec: RegionSpec,
                         region_id: str | None) -> dict[str, Any]:
    region = await catalog_admin.create_region(
        deps, ctx, region_id=region_id, description=spec.description,
        parent_region_id=spec.parent_region_id, extra=extra_attributes(spec))
    return {"region": region_view(request, region)}


@router.post("/regions", status_code=201)
async def create_region(request: Request, body: RegionBody, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    return await _create_region(request, deps, ctx, body.region, body.region.id)


@router.put("/regions/{region_id}", status_code=201)
async def create_region_with_id(request: Request, body: RegionBody, deps: Deps, ctx: Ctx,
                                region_id: Annotated[str, Path(max_length=255)]) -> dict[str, Any]:
    if body.region.id is not None and body.region.id != region_id:
        raise errors.ValidationError(
            detail=f'Conflicting region IDs specified: "{region_id}" != "{body.region.id}"')
    return await _create_region(request, deps, ctx, body.region, region_id)


@router.api_route("/regions/{region_id}", methods=["GET", "HEAD"])
async def show_region(request: Request, region_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"region": region_view(request, await catalog_admin.get_region(deps, ctx, region_id))}


@router.patch("/regions/{region_id}")
async def update_region(request: Request, region_id: str, body: RegionBody, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    spec = body.region
    extra = extra_attributes(spec, entity_id=region_id)
    changes = _changes(spec, not_null=())
    if changes.pop("id", region_id) != region_id:
        raise errors.ValidationError(detail="The region id in the body does not match the URL.")
    _require_some(changes, extra)
    region = await catalog_admin.update_region(deps, ctx, region_id, changes=changes,
                                               extra=extra)
    return {"region": region_view(request, region)}


@router.delete("/regions/{region_id}", status_code=204)
async def delete_region(region_id: str, deps: Deps, ctx: Ctx) -> Response:
    await catalog_admin.delete_region(deps, ctx, region_id)
    return Response(status_code=204)


# --- services ------------------------------------------------------------------------------

def service_view(request: Request, service: catalog_admin.Service) -> dict[str, Any]:
    view = {**service.extra, "id": service.id, "type": service.type, "name": service.name,
            "enabled": service.enabled, "links": self_links(request, f"services/{service.id}")}
    if service.description is not None:
        view["description"] = service.description
    return view


@router.api_route("/services", methods=["GET", "HEAD"])
async def list_services(request: Request, deps: Deps, ctx: Ctx, type: str | None = None,
                        name: str | None = None) -> dict[str, Any]:
    found = await catalog_admin.list_services(deps, ctx, type=type, name=name)
    return collection(request, "services", [service_view(request, s) for s in found])


@router.post("/services", status_code=201)
async def create_service(request: Request, body: ServiceCreateBody, deps: Deps,
                         ctx: Ctx) -> dict[str, Any]:
    spec = body.service
    service = await catalog_admin.create_service(
        deps, ctx, type=spec.type, name=spec.name, description=spec.description,
        enabled=spec.enabled, extra=extra_attributes(spec))
    return {"service": service_view(request, service)}


@router.api_route("/services/{service_id}", methods=["GET", "HEAD"])
async def show_service(request: Request, service_id: str, deps: Deps,
                       ctx: Ctx) -> dict[str, Any]:
    service = await catalog_admin.get_service(deps, ctx, service_id)
    return {"service": service_view(request, service)}


@router.patch("/services/{service_id}")
async def update_service(request: Request, service_id: str, body: ServiceUpdateBody,
                         deps: Deps, ctx: Ctx) -> dict[str, Any]:
    spec = body.service
    extra = extra_attributes(spec, entity_id=service_id)
    changes = _changes(spec, not_null=("type", "enabled"))
    _require_some(changes, extra)
    service = await catalog_admin.update_service(deps, ctx, service_id, changes=changes,
                                                 extra=extra)
    return {"service": service_view(request, service)}


@router.delete("/services/{service_id}", status_code=204)
async def delete_service(service_id: str, deps: Deps, ctx: Ctx) -> Response:
    await catalog_admin.delete_service(deps, ctx, service_id)
    return Response(status_code=204)


# --- endpoints -----------------------------------------------------------------------------

def endpoint_view(request: Request, endpoint: catalog_admin.Endpoint) -> dict[str, Any]:
    return {**endpoint.extra, "id": endpoint.id, "interface": endpoint.interface,
            "region_id": endpoint.region_id, "region": endpoint.region_id,
            "service_id": endpoint.service_id, "url": endpoint.url, "enabled": endpoint.enabled,
            "links": self_links(request, f"endpoints/{endpoint.id}")}


def _endpoint_extra(spec: EndpointCreate | EndpointUpdate, endpoint_id: str | None = None
                    ) -> dict[str, Any]:
    # Keystone keeps an endpoint's name and description among its extra attributes.
    extra = extra_attributes(spec, entity_id=endpoint_id)
    for field in ("name", "description"):
        if field in spec.model_fields_set:
            extra[field] = getattr(spec, field)
    return extra


@router.api_route("/endpoints", methods=["GET", "HEAD"])
async def list_endpoints(request: Request, deps: Deps, ctx: Ctx, interface: str | None = None,
                         service_id: str | None = None,
                         region_id: str | None = None) -> dict[str, Any]:
    found = await catalog_admin.list_endpoints(deps, ctx, interface=interface,
                                               service_id=service_id, region_id=region_id)
    return collection(request, "endpoints", [endpoint_view(request, e) for e in found])


@router.post("/endpoints", status_code=201)
async def create_endpoint(request: Request, body: EndpointCreateBody, deps: Deps,
                          ctx: Ctx) -> dict[str, Any]:
    spec = body.endpoint
    endpoint = await catalog_admin.create_endpoint(
        deps, ctx, service_id=spec.service_id, interface=spec.interface, url=spec.url,
        region_id=spec.region_id, legacy_region=spec.region, enabled=spec.enabled,
        extra=_endpoint_extra(spec))
    return {"endpoint": endpoint_view(request, endpoint)}


@router.api_route("/endpoints/{endpoint_id}", methods=["GET", "HEAD"])
async def show_endpoint(request: Request, endpoint_id: str, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    endpoint = await catalog_admin.get_endpoint(deps, ctx, endpoint_id)
    return {"endpoint": endpoint_view(request, endpoint)}


@router.patch("/endpoints/{endpoint_id}")
async def update_endpoint(request: Request, endpoint_id: str, body: EndpointUpdateBody,
                          deps: Deps, ctx: Ctx) -> dict[str, Any]:
    spec = body.endpoint
    extra = _endpoint_extra(spec, endpoint_id)
    changes = _changes(spec, not_null=("interface", "service_id", "url", "enabled"))
    changes.pop("name", None)
    changes.pop("description", None)
    _require_some(changes, extra)
    endpoint = await catalog_admin.update_endpoint(deps, ctx, endpoint_id, changes=changes,
                                                   extra=extra)
    return {"endpoint": endpoint_view(request, endpoint)}


@router.delete("/endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: str, deps: Deps, ctx: Ctx) -> Response:
    await catalog_admin.delete_endpoint(deps, ctx, endpoint_id)
    return Response(status_code=204)
