"""The life-cycle actions of `POST /servers/{id}/action`: createImage, createBackup, rescue,
unrescue, rebuild, shelve, shelveOffload, unshelve and trigger_crash_dump, with Nova's response
shapes per microversion."""

from __future__ import annotations

from fastapi import Request, Response

from nimbus.compute import views
from nimbus.compute.action_schemas import (
    CreateBackupRequest,
    CreateImageRequest,
    RebuildRequest,
    RescueRequest,
    UnshelveRequest,
)
from nimbus.compute.api import params
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.service import compute_services, lifecycle, rebuild, shelve, snapshots
from nimbus.core import errors
from nimbus.core.context import RequestContext
from nimbus.core.http import OrjsonResponse

ACTIONS = {"createImage", "createBackup", "rescue", "unrescue", "rebuild", "shelve", "shelveOffload",
           "unshelve", "trigger_crash_dump"}

_ACCEPTED = 202


async def dispatch(request: Request, name: str, server_id: str, deps: ComputeDeps,
                   ctx: RequestContext, version: tuple[int, int]) -> Response:
    if name in ("createImage", "createBackup"):
        if name == "createImage":
            image = (await params.body_as(request, CreateImageRequest)).create_image
            image_id = await snapshots.create_image(deps, ctx, server_id, image.name,
                                                    image.metadata)
        else:
            backup = (await params.body_as(request, CreateBackupRequest)).create_backup
            image_id = await snapshots.create_image(
                deps, ctx, server_id, backup.name, backup.metadata,
                snapshots.Backup(backup.backup_type, backup.rotation))
        if version >= (2, 45):
            return OrjsonResponse({"image_id": image_id}, status_code=_ACCEPTED)
        return Response(status_code=_ACCEPTED,
                        headers={"Location": snapshots.image_url(deps, image_id)})
    if name == "rescue":
        wanted = (await params.body_as(request, RescueRequest)).rescue
        password = await lifecycle.rescue(deps, ctx, server_id,
                                          wanted.adminPass if wanted else None,
                                          wanted.rescue_image_ref if wanted else None)
        return OrjsonResponse({"adminPass": password} if password is not None else {},
                              status_code=200)
    if name == "rebuild":
        req = (await params.body_as(request, RebuildRequest)).rebuild
        server, password = await rebuild.rebuild(deps, ctx, server_id, req, version)
        # From 2.75 the answer is the whole server, host_status included, as show gives it.
        status = await compute_services.host_status(deps, ctx, server.row.host) \
            if version >= (2, 75) else None
        body = views.server_detail(request, server, version, is_admin=ctx.is_admin,
                                   host_status=status,
                                   view="update" if version < (2, 75) else "show")
        # Nova's rebuild answer names the key (2.54) and user data (2.57) whatever the view.
        if version >= (2, 54):
            body["key_name"] = server.row.key_name
        if version >= (2, 57):
            # ... in its place: the admin attribute is left out of the full 2.75 body.
            body.pop("OS-EXT-SRV-ATTR:user_data", None)
            body["user_data"] = server.row.user_data
        if deps.settings.compute.enable_instance_password:
            body["adminPass"] = password
        return OrjsonResponse({"server": body}, status_code=_ACCEPTED)
    if name == "unshelve":
        unshelve = (await params.body_as(request, UnshelveRequest)).unshelve
        await shelve.unshelve(deps, ctx, server_id, unshelve.availability_zone if unshelve else None,
                              version)
    elif name == "trigger_crash_dump":
        if version < (2, 17):
            raise errors.NotFound("There is no such action: trigger_crash_dump")
        await lifecycle.trigger_crash_dump(deps, ctx, server_id)
    elif name == "unrescue":
        await lifecycle.unrescue(deps, ctx, server_id)
    elif name == "shelve":
        await shelve.shelve(deps, ctx, server_id)
    elif name == "shelveOffload":
        await shelve.shelve_offload(deps, ctx, server_id)
    return Response(status_code=_ACCEPTED)
