"""Rebuild: the server keeps its id, ports, flavor and host and gets a new root disk from an
image, with the name, metadata, key and user data the request gives (Nova's rebuild)."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select

from nimbus.compute import errors
from nimbus.compute.action_schemas import REBUILD_SINCE, REBUILD_UNTIL, Rebuild
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceMetadataRow, KeypairRow
from nimbus.compute.objects import BuildRequest, FlavorSpec
from nimbus.compute.service import disk_config, lifecycle, quotas, servers
from nimbus.compute.states import TaskState, VmState
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

REBUILD_FROM = (VmState.ACTIVE, VmState.STOPPED, VmState.ERROR)
RULE = "os_compute_api:servers:rebuild"


def _check_version(req: Rebuild, version: tuple[int, int]) -> None:
    for field in req.model_fields_set:
        since = REBUILD_SINCE.get(field)
        if since is not None and version < since:
            raise core_errors.BadRequest(
                f"Invalid input for field/attribute rebuild. Additional properties are not "
                f"allowed ('{field}' needs microversion {since[0]}.{since[1]})")
        until = REBUILD_UNTIL.get(field)
        if until is not None and version >= until:
            raise core_errors.BadRequest(
                f"Invalid input for field/attribute rebuild. Additional properties are not "
                f"allowed ('{field}' was removed in microversion {until[0]}.{until[1]})")


async def rebuild(deps: ComputeDeps, ctx: RequestContext, server_id: str, req: Rebuild,
                  version: tuple[int, int]) -> tuple[servers.Server, str]:
    """Start the rebuild; the server as it shows now (REBUILD) and its new admin password."""
    _check_version(req, version)
    async with deps.read() as session:
        row = await lifecycle.checked_row(session, deps, ctx, server_id, action="rebuild",
                                          rule=RULE, allowed=REBUILD_FROM)
        flavor = FlavorSpec.model_validate(row.flavor)
    image = await servers.image_for_flavor(deps, ctx, req.imageRef, flavor)
    auto_disk = disk_config.choose(req.disk_config, image.id,
                                   image.properties.get("auto_disk_config"))
    password = req.adminPass or secrets.token_urlsafe(9)
    async with deps.write() as session:
        row = await lifecycle.checked_row(session, deps, ctx, server_id, action="rebuild",
                                          rule=RULE, allowed=REBUILD_FROM)
        given = req.model_fields_set
        if req.key_name is not None:
            keypair = (await session.execute(select(KeypairRow).where(
                KeypairRow.user_id == ctx.user_id, KeypairRow.name == req.key_name))).scalar()
            if keypair is None:
                raise core_errors.BadRequest("Invalid key_name provided.")
            row.key_name, row.key_data = keypair.name, keypair.public_key
        elif "key_name" in given:  # null unsets the key (2.54)
            row.key_name = row.key_data = None
        if req.metadata is not None:
            limit = await quotas.limits(session, deps.settings.compute.quotas, row.project_id)
            if 0 <= limit["metadata_items"] < len(req.metadata):
                raise errors.QuotaExceeded(resources="metadata_items",
                                           requested=len(req.metadata), used=0,
                                           allowed=limit["metadata_items"])
        # Image properties the server was built with give way to the new image's.
        system_metadata = disk_config.with_choice(
            {**{k: v for k, v in row.system_metadata.items() if not k.startswith("image_")},
             **{"image_" + k: str(v) for k, v in image.properties.items()
                if isinstance(v, str | int | float | bool)}}, auto_disk)
        stop_after = row.vm_state == VmState.STOPPED
        await lifecycle.begin(session, ctx, row, action="rebuild", task=TaskState.REBUILDING,
                              updates={"system_metadata": system_metadata, "progress": 0})
        if req.name is not None:
            row.display_name, row.hostname = req.name, servers.hostname_for(req.name)
        if req.hostname is not None:
            row.hostname = req.hostname
        if "description" in given:
            row.display_description = req.description
        if "user_data" in given:
            row.user_data = req.user_data
        if req.accessIPv4 is not None:
            row.access_ip_v4 = req.accessIPv4
        if req.accessIPv6 is not None:
            row.access_ip_v6 = req.accessIPv6
        row.image_ref = image.id
        if req.metadata is not None:
            await session.execute(delete(InstanceMetadataRow).where(
                InstanceMetadataRow.instance_uuid == row.uuid))
            session.add_all(InstanceMetadataRow(instance_uuid=row.uuid, key=k, value=v)
                            for k, v in req.metadata.items())
        await session.flush()
        metadata = {m.key: m.value for m in (await session.execute(select(
            InstanceMetadataRow).where(InstanceMetadataRow.instance_uuid == row.uuid))).scalars()}
        request = BuildRequest(
            instance_uuid=row.uuid, name=row.display_name, hostname=row.hostname,
            project_id=row.project_id, user_id=row.user_id, flavor=flavor, image_id=image.id,
            key_data=row.key_data, user_data=row.user_data, metadata=metadata,
            node=row.node or "", availability_zone=row.availability_zone)
        host = row.host
        row.updated_at = db.utcnow()
    assert host is not None
    server = await servers.get_server(deps, ctx, server_id)
    # preserve_ephemeral is accepted and has nothing to keep: no driver makes ephemeral disks.
    await deps.agents.rebuild_instance(ctx, host, request, stop_after=stop_after)
    return server, password
