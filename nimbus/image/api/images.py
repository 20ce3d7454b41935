"""`/v2/images`: create, list, show, update (JSON patch), delete, actions, tags, tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx, OrjsonResponse, service_url
from nimbus.image import views
from nimbus.image.api.common import json_body
from nimbus.image.deps import Deps
from nimbus.image.service import images, info, listing, tasks

router = APIRouter(prefix="/v2/images")


@router.post("")
async def create_image(request: Request, deps: Deps, ctx: Ctx) -> Response:
    image = await images.create_image(deps, ctx, await json_body(request))
    headers = {"Location": f"{service_url(request)}/v2/images/{image.id}",
               "OpenStack-image-import-methods": ",".join(info.import_methods()),
               "OpenStack-image-store-ids": ",".join(s["id"] for s in info.stores(deps))}
    return OrjsonResponse(views.image(image), status_code=201, headers=headers)


@router.get("")
async def list_images(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    params = list(request.query_params.multi_items())
    page = await listing.list_images(deps, ctx, params)
    return views.image_page(page, params)


@router.get("/{image_id}")
async def show_image(image_id: str, deps: Deps, ctx: Ctx) -> Response:
    # A response, not a dict for FastAPI to walk and re-encode: compute asks for the image of
    # every server it creates.
    return OrjsonResponse(views.image(await images.get_image(deps, ctx, image_id)))


@router.patch("/{image_id}")
async def update_image(image_id: str, request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    image = await images.update_image(deps, ctx, image_id, await json_body(request),
                                      request.headers.get("content-type"))
    return views.image(image)


@router.delete("/{image_id}", status_code=204)
async def delete_image(image_id: str, deps: Deps, ctx: Ctx) -> Response:
    await images.delete_image(deps, ctx, image_id)
    return Response(status_code=204)


@router.post("/{image_id}/actions/deactivate", status_code=204)
async def deactivate_image(image_id: str, deps: Deps, ctx: Ctx) -> Response:
    await images.set_active(deps, ctx, image_id, active=False)
    return Response(status_code=204)


@router.post("/{image_id}/actions/reactivate", status_code=204)
async def reactivate_image(image_id: str, deps: Deps, ctx: Ctx) -> Response:
    await images.set_active(deps, ctx, image_id, active=True)
    return Response(status_code=204)


@router.put("/{image_id}/tags/{tag}", status_code=204)
async def add_tag(image_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await images.add_tag(deps, ctx, image_id, tag)
    return Response(status_code=204)


@router.delete("/{image_id}/tags/{tag}", status_code=204)
async def delete_tag(image_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await images.delete_tag(deps, ctx, image_id, tag)
    return Response(status_code=204)


@router.get("/{image_id}/tasks")
async def list_tasks(image_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"tasks": [views.task(t) for t in await tasks.list_tasks(deps, ctx, image_id)]}
