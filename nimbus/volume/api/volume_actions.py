"""`POST /v3/{project_id}/volumes/{id}/action`: one action per body, by its key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from nimbus.core import errors
from nimbus.core.context import RequestContext
from nimbus.core.http import Ctx
from nimbus.volume import views
from nimbus.volume.api.common import PREFIX, Version, bool_body, json_body
from nimbus.volume.deps import Deps, VolumeDeps
from nimbus.volume.service import actions, attachments, volumes

router = APIRouter(prefix=f"{PREFIX}/volumes")

Handler = Callable[[VolumeDeps, RequestContext, str, Any, tuple[int, int], Request],
                   Awaitable[Response]]


def _accepted() -> Response:
    return Response(status_code=202)


def _object(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.BadRequest(f"Invalid request body for {name}: an object is needed.")
    return value


def _required(name: str, body: dict[str, Any], key: str) -> Any:
    if key not in body:
        raise errors.BadRequest(f"'{key}' is a required property")
    return body[key]


async def _extend(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                  version: tuple[int, int], request: Request) -> Response:
    raw = _required("os-extend", _object("os-extend", value), "new_size")
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str)
                                                               and raw.isdigit())):
        raise errors.BadRequest(f"Invalid input for field/attribute new_size. Value: {raw}.")
    await actions.extend(deps, ctx, volume_id, int(raw), version)
    return _accepted()


async def _reset_status(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                        version: tuple[int, int], request: Request) -> Response:
    body = _object("os-reset_status", value)
    changes: dict[str, str | None] = {
        k: body[k] for k in ("status", "attach_status", "migration_status") if k in body}
    if not changes:
        raise errors.BadRequest("Must specify 'status', 'attach_status' or 'migration_status' "
                                "for update.")
    await actions.reset_status(deps, ctx, volume_id, changes)
    return _accepted()


async def _force_delete(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                        version: tuple[int, int], request: Request) -> Response:
    await volumes.delete_volume(deps, ctx, volume_id, force=True)
    return _accepted()


async def _set_bootable(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                        version: tuple[int, int], request: Request) -> Response:
    raw = _required("os-set_bootable", _object("os-set_bootable", value), "bootable")
    await actions.set_flag(deps, ctx, volume_id, "bootable", bool_body("bootable", raw))
    return Response(status_code=200)


async def _readonly(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                    version: tuple[int, int], request: Request) -> Response:
    raw = _required("os-update_readonly_flag", _object("os-update_readonly_flag", value),
                    "readonly")
    await actions.set_flag(deps, ctx, volume_id, "readonly", bool_body("readonly", raw))
    return _accepted()


async def _set_image_metadata(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                              version: tuple[int, int], request: Request) -> Response:
    found = _required("os-set_image_metadata", _object("os-set_image_metadata", value),
                      "metadata")
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise errors.BadRequest("Malformed metadata: an object of strings is needed.")
    result = await actions.set_image_metadata(deps, ctx, volume_id, found)
    return JSONResponse({"metadata": result})


async def _unset_image_metadata(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                                value: Any, version: tuple[int, int],
                                request: Request) -> Response:
    key = _required("os-unset_image_metadata", _object("os-unset_image_metadata", value), "key")
    await actions.unset_image_metadata(deps, ctx, volume_id, str(key))
    return Response(status_code=200)


async def _show_image_metadata(deps: VolumeDeps, ctx: RequestContext, volume_id: str,
                               value: Any, version: tuple[int, int],
                               request: Request) -> Response:
    return JSONResponse({"metadata": await actions.image_metadata(deps, ctx, volume_id)})


async def _upload_image(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                        version: tuple[int, int], request: Request) -> Response:
    body = _object("os-volume_upload_image", value)
    name = _required("os-volume_upload_image", body, "image_name")
    upload = actions.ImageUpload(
        image_name=str(name), force=bool_body("force", body.get("force", False)),
        disk_format=str(body.get("disk_format") or "raw"),
        container_format=str(body.get("container_format") or "bare"),
        visibility=body.get("visibility") if version >= (3, 1) else None,
        protected=(bool_body("protected", body["protected"])
                   if version >= (3, 1) and "protected" in body else None))
    volume, image = await actions.upload_to_image(deps, ctx, volume_id, upload)
    reply = {"id": volume.id, "updated_at": views.stamp(volume.updated_at),
             "status": "uploading", "display_description": volume.description,
             "size": volume.size, "volume_type": None,
             "image_id": image["id"], "container_format": upload.container_format,
             "disk_format": upload.disk_format, "image_name": upload.image_name}
    if version >= (3, 1):
        reply["visibility"] = image.get("visibility")
        reply["protected"] = image.get("protected")
    return JSONResponse({"os-volume_upload_image": reply}, status_code=202)


async def _reserve(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                   version: tuple[int, int], request: Request) -> Response:
    await attachments.reserve(deps, ctx, volume_id)
    return _accepted()


async def _unreserve(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                     version: tuple[int, int], request: Request) -> Response:
    await attachments.unreserve(deps, ctx, volume_id)
    return _accepted()


async def _begin_detaching(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                           version: tuple[int, int], request: Request) -> Response:
    await attachments.begin_detaching(deps, ctx, volume_id)
    return _accepted()


async def _roll_detaching(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                          version: tuple[int, int], request: Request) -> Response:
    await attachments.roll_detaching(deps, ctx, volume_id)
    return _accepted()


async def _initialize(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                      version: tuple[int, int], request: Request) -> Response:
    connector = _required("os-initialize_connection", _object("os-initialize_connection", value),
                          "connector")
    if not isinstance(connector, dict):
        raise errors.BadRequest("Must specify a connector as an object.")
    info = await attachments.initialize_connection(deps, ctx, volume_id, connector)
    return JSONResponse({"connection_info": info})


async def _terminate(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                     version: tuple[int, int], request: Request) -> Response:
    _required("os-terminate_connection", _object("os-terminate_connection", value), "connector")
    await attachments.terminate_connection(deps, ctx, volume_id)
    return _accepted()


async def _attach(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                  version: tuple[int, int], request: Request) -> Response:
    body = _object("os-attach", value)
    mountpoint = _required("os-attach", body, "mountpoint")
    instance, host = body.get("instance_uuid"), body.get("host_name")
    if (instance is None) == (host is None):
        raise errors.BadRequest("Invalid request to attach volume to an invalid target: give "
                                "exactly one of instance_uuid and host_name.")
    mode = body.get("mode", "rw")
    if mode not in ("rw", "ro"):
        raise errors.BadRequest("Invalid request to attach volume with an invalid mode. "
                                "Attaching mode should be 'rw' or 'ro'")
    await attachments.attach(deps, ctx, volume_id, instance, host, str(mountpoint), mode)
    return _accepted()


async def _detach(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                  version: tuple[int, int], request: Request) -> Response:
    body = _object("os-detach", value)
    await attachments.detach(deps, ctx, volume_id, body.get("attachment_id"))
    return _accepted()


async def _force_detach(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                        version: tuple[int, int], request: Request) -> Response:
    body = _object("os-force_detach", value)
    await attachments.detach(deps, ctx, volume_id, body.get("attachment_id"), force=True)
    return _accepted()


async def _retype(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                  version: tuple[int, int], request: Request) -> Response:
    body = _object("os-retype", value)
    new_type = _required("os-retype", body, "new_type")
    await actions.retype(deps, ctx, volume_id, str(new_type),
                         str(body.get("migration_policy") or "never"))
    return _accepted()


async def _revert(deps: VolumeDeps, ctx: RequestContext, volume_id: str, value: Any,
                  version: tuple[int, int], request: Request) -> Response:
    if version < (3, 40):
        raise errors.BadRequest("There is no such action: revert")
    snapshot_id = _required("revert", _object("revert", value), "snapshot_id")
    await actions.revert_to_snapshot(deps, ctx, volume_id, str(snapshot_id))
    return _accepted()


ACTIONS: dict[str, Handler] = {
    "os-extend": _extend, "os-reset_status": _reset_status, "os-force_delete": _force_delete,
    "os-set_bootable": _set_bootable, "os-update_readonly_flag": _readonly,
    "os-set_image_metadata": _set_image_metadata,
    "os-unset_image_metadata": _unset_image_metadata,
    "os-show_image_metadata": _show_image_metadata,
    "os-volume_upload_image": _upload_image, "os-reserve": _reserve,
    "os-unreserve": _unreserve, "os-begin_detaching": _begin_detaching,
    "os-roll_detaching": _roll_detaching, "os-initialize_connection": _initialize,
    "os-terminate_connection": _terminate, "os-attach": _attach, "os-detach": _detach,
    "os-force_detach": _force_detach, "os-retype": _retype,
    "revert": _revert,
}


@router.post("/{volume_id}/action")
async def volume_action(request: Request, project_id: str, volume_id: str, deps: Deps, ctx: Ctx,
                        version: Version) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("There is either no action or more than one action in the body.")
    (name, value), = body.items()
    handler = ACTIONS.get(name)
    if handler is None:
        raise errors.BadRequest(f"There is no such action: {name}")
    return await handler(deps, ctx, volume_id, value, version, request)
