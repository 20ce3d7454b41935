"""Image data: `PUT|GET /v2/images/{id}/file`, `PUT .../stage`, `POST .../import`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from nimbus.core.http import Ctx
from nimbus.image.api.common import body_chunks, declared_size
from nimbus.image.deps import Deps
from nimbus.image.schemas import ImportRequest
from nimbus.image.service import data, images

router = APIRouter()


@router.put("/v2/images/{image_id}/file", status_code=204)
async def upload_image(image_id: str, request: Request, deps: Deps, ctx: Ctx) -> Response:
    await data.upload(deps, ctx, image_id, content_type=request.headers.get("content-type"),
                      declared_size=declared_size(request),
                      chunks=body_chunks(request, image_id))
    return Response(status_code=204)


@router.get("/v2/images/{image_id}/file", response_model=None)
async def download_image(image_id: str, request: Request, deps: Deps,
                         ctx: Ctx) -> Response | StreamingResponse:
    found = await data.download(deps, ctx, image_id, request.headers.get("range"))
    if found is None:
        return Response(status_code=204)
    headers = {"Content-Length": str(found.length)}
    if found.partial:
        size = found.image.size
        headers["Content-Range"] = f"bytes {found.offset}-{found.offset + found.length - 1}/{size}"
    elif found.image.checksum:
        headers["Content-MD5"] = found.image.checksum
    return StreamingResponse(found.chunks, status_code=206 if found.partial else 200,
                             media_type="application/octet-stream", headers=headers)


@router.put("/v2/images/{image_id}/stage", status_code=204)
async def stage_image(image_id: str, request: Request, deps: Deps, ctx: Ctx) -> Response:
    await data.stage(deps, ctx, image_id, content_type=request.headers.get("content-type"),
                     declared_size=declared_size(request), chunks=body_chunks(request, image_id))
    return Response(status_code=204)


@router.post("/v2/images/{image_id}/import", status_code=202)
async def import_image(image_id: str, body: ImportRequest, deps: Deps, ctx: Ctx) -> Response:
    await data.import_image(deps, ctx, image_id, body)
    return Response(status_code=202)


@router.delete("/v2/stores/{store_id}/{image_id}", status_code=204)
async def delete_from_store(store_id: str, image_id: str, deps: Deps, ctx: Ctx) -> Response:
    await images.delete_from_store(deps, ctx, store_id, image_id)
    return Response(status_code=204)
