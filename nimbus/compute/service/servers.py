"""Servers as the API sees them: create (durable, then 202), show, list, update, delete.

The build itself happens elsewhere: create writes the instances and casts the conductor;
delete casts the host's agent. Every state change goes through instances.compare_and_swap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import secrets
import uuid
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors, host_zones
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import (
    ComputeNodeRow,
    InstanceActionRow,
    InstanceFaultRow,
    InstanceMetadataRow,
    InstanceRow,
    InstanceTagRow,
    KeypairRow,
    ServerGroupMemberRow,
    ServerGroupRow,
)
from nimbus.compute.objects import FlavorSpec, RequestSpec
from nimbus.compute.schemas import SchedulerHints, ServerCreate, ServerCreateRequest
from nimbus.compute.service import (
    block_devices,
    boot_volumes,
    compute_services,
    disk_config,
    flavors,
    instances,
    migrations,
    networks,
    quotas,
)
from nimbus.compute.states import PowerState, TaskState, VmState
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.clients.image import Image, ImageNotFound
from nimbus.core.context import RequestContext

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


@dataclasses.dataclass(frozen=True)
class Fault:
    code: int
    message: str
    details: str | None
    created: dt.datetime


@dataclasses.dataclass(frozen=True)
class Server:
    row: InstanceRow
    metadata: dict[str, str]
    tags: list[str]
    fault: Fault | None
    group_uuids: list[str]
    # Floating addresses by port, when asked of the network service (ips.with_floating).
    floating: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # (volume id, delete_on_termination) of each attached volume, boot volume first.
    volumes: list[tuple[str, bool]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Created:
    servers: list[Server]
    reservation_id: str
    admin_pass: str


def _is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


async def resolve_flavor(session: AsyncSession, ctx: RequestContext,
                         flavor_ref: str) -> FlavorSpec:
    """The flavor a create or a resize asks for; 400 if the caller may not use it.
    flavorRef may be an id or a link ending in one."""
    flavorid = flavor_ref.rstrip("/").rsplit("/", 1)[-1]
    row = await flavors.usable_row(session, ctx, flavorid)
    if row is None or row.disabled:
        raise core_errors.BadRequest(f"Flavor {flavorid} could not be found.")
    specs = (await flavors.specs_of(session, [row.id]))[row.id]
    return FlavorSpec(flavorid=row.flavorid, name=row.name, memory_mb=row.memory_mb,
                      vcpus=row.vcpus, root_gb=row.root_gb, ephemeral_gb=row.ephemeral_gb,
                      swap=row.swap, extra_specs=specs)


async def image_for_flavor(deps: ComputeDeps, ctx: RequestContext, image_ref: str | None,
                           flavor: FlavorSpec) -> Image:
    if not image_ref:
        raise core_errors.BadRequest("Block Device Mapping is Invalid: boot from volume needs "
                                     "the volume service; give an imageRef.")
    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
    if not _is_uuid(image_id):
        raise core_errors.BadRequest("Invalid imageRef provided.")
    try:
        image = await deps.images.get_image(ctx.auth_token or "", image_id)
    except ImageNotFound:
        raise core_errors.BadRequest(f"Image {image_id} could not be found.") from None
    if image.status != "active":
        raise core_errors.BadRequest(f"Image {image_id} is not active.")
    if flavor.root_gb and image.min_disk > flavor.root_gb:
        raise core_errors.BadRequest("Flavor's disk is too small for requested image. Flavor disk "
                                     f"is {flavor.root_gb}G, minimum is {image.min_disk}G.")
    size_gb = ((image.size or 0) + (1 << 30) - 1) >> 30
    if flavor.root_gb and size_gb > flavor.root_gb:
        raise core_errors.BadRequest("Flavor's disk is too small for requested image. Flavor disk "
                                     f"is {flavor.root_gb * (1 << 30)} bytes, image is "
                                     f"{image.size} bytes.")
    if image.min_ram > flavor.memory_mb:
        raise core_errors.BadRequest("Flavor's memory is too small for requested image.")
    return image


def _placement_hints(deps: ComputeDeps, ctx: RequestContext,
                     az: str | None) -> tuple[str | None, str | None, str | None]:
    """`zone`, `zone:host`, `zone:host:node` or `zone::node` (forcing is for admins)."""
    if az is None:
        return None, None, None
    if az.count(":") > 2:
        raise errors.InvalidInput(reason="Unable to parse availability_zone")
    zone, _, rest = az.partition(":")
    host, _, node = rest.partition(":")
    if host or node:
        deps.policy.authorize("os_compute_api:servers:create:forced_host", ctx,
                              {"project_id": ctx.project_id})
    return zone or None, host or None, node or None


async def _forced_zone(deps: ComputeDeps, session: AsyncSession, zone: str | None,
                       host: str | None) -> str | None:
    """The zone kept with a forced host or node: the one asked for if the host is in it, else
    none, as Nova does since its bug 1934770 (the server then shows its host's zone)."""
    host_zone = (await host_zones.zoned_hosts(session, [host])).get(host) if host else None
    return zone if zone == (host_zone or deps.settings.compute.default_availability_zone) \
        else None


async def _check_zone(deps: ComputeDeps, session: AsyncSession, zone: str) -> None:
    """As Nova: a zone is available while one of its services is enabled."""
    services = await compute_services.all_services(deps, session)
    if zone not in {s.zone for s in services if not s.disabled}:
        raise core_errors.BadRequest("The requested availability zone is not available")


async def _check_destination(session: AsyncSession, host: str | None, node: str | None) -> None:
    """2.74's `host` and `hypervisor_hostname` name a compute node that exists, else 400."""
    query = select(ComputeNodeRow.id)
    if host:
        query = query.where(ComputeNodeRow.host == host)
    if node:
        query = query.where(ComputeNodeRow.hypervisor_hostname == node)
    if (await session.execute(query.limit(1))).first() is None:
        raise core_errors.BadRequest(f"Compute host {host or node} could not be found.")


async def _zone_and_destination(deps: ComputeDeps, session: AsyncSession,
                                server: ServerCreate, zone: str | None,
                                forced_host: str | None, forced_node: str | None) -> str | None:
    """Nova's checks of where a server may go, in its order; the zone to request."""
    if forced_host or forced_node:
        zone = await _forced_zone(deps, session, zone, forced_host)
    if server.host or server.hypervisor_hostname:
        if forced_host or forced_node:
            raise core_errors.BadRequest(
                "One mechanism with host and/or hypervisor_hostname and another mechanism "
                "with zone:host:node are mutually exclusive.")
        await _check_destination(session, server.host, server.hypervisor_hostname)
    if zone is not None and forced_host is None:
        await _check_zone(deps, session, zone)
    return zone


def _host_list(value: str | list[str] | None) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    for item in items:
        if not _is_uuid(item):
            raise core_errors.BadRequest(f"Invalid input for field/attribute: {item!r} is not a "
                                         "'uuid'")
    return items


async def _group(session: AsyncSession, ctx: RequestContext,
                 hints: SchedulerHints | None) -> ServerGroupRow | None:
    if hints is None or hints.group is None:
        return None
    if not _is_uuid(hints.group):
        raise core_errors.BadRequest(f"Invalid input for field/attribute group: {hints.group!r} "
                                     "is not a 'uuid'")
    row = (await session.execute(select(ServerGroupRow).where(
        ServerGroupRow.uuid == hints.group))).scalar()
    if row is None or not ctx.may_see(row.project_id):
        raise core_errors.BadRequest(f"Invalid server group {hints.group}.")
    return row


def _counts(req: ServerCreateRequest) -> tuple[int, int]:
    server = req.server
    max_count = server.max_count if server.max_count is not None else server.min_count
    if server.min_count > max_count:
        raise core_errors.BadRequest("min_count must be <= max_count")
    return server.min_count, max_count


def hostname_for(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")
    return cleaned[:63] or "server"


async def create_servers(deps: ComputeDeps, ctx: RequestContext, req: ServerCreateRequest,
                         version: tuple[int, int]) -> Created:
    """Validate, check quota, write the instances durably and hand them to the conductor.

    On any 4xx nothing is written. Returns before any host is chosen (the API's 202).
    """
    deps.policy.authorize("os_compute_api:servers:create", ctx, {"project_id": ctx.project_id})
    server = req.server
    if server.description is not None and version < (2, 19):
        raise core_errors.BadRequest("description needs microversion 2.19 or later")
    if server.tags is not None and version < (2, 52):
        raise core_errors.BadRequest("tags need microversion 2.52 or later")
    if (server.host or server.hypervisor_hostname) and version < (2, 74):
        raise core_errors.BadRequest("host and hypervisor_hostname need microversion 2.74")
    min_count, max_count = _counts(req)
    hints = req.scheduler_hints or req.scheduler_hints_new
    same_host = _host_list(hints.same_host if hints else None)
    different_host = _host_list(hints.different_host if hints else None)
    zone, forced_host, forced_node = _placement_hints(deps, ctx, server.availability_zone)
    if server.host or server.hypervisor_hostname:
        deps.policy.authorize("os_compute_api:servers:create:forced_host", ctx,
                              {"project_id": ctx.project_id})
    project_id, user_id = ctx.project_id or "", ctx.user_id or ""

    wanted = boot_volumes.parse(server.block_device_mapping_v2, server.imageRef, max_count)
    async with deps.read() as session:
        flavor = await resolve_flavor(session, ctx, str(server.flavorRef))
        zone = await _zone_and_destination(deps, session, server, zone, forced_host, forced_node)
    root_image, wanted = await boot_volumes.check(deps, ctx, wanted)
    image = root_image or await image_for_flavor(deps, ctx, wanted.image_ref or server.imageRef,
                                                 flavor)
    requested_networks = await networks.resolve(deps, ctx, server.networks, version, max_count)
    auto_disk = disk_config.choose(server.disk_config, image.id,
                                   image.properties.get("auto_disk_config"))

    admin_pass = server.adminPass or secrets.token_urlsafe(9)
    reservation_id = f"r-{secrets.token_hex(4)}"
    async with deps.write() as session:
        keypair = None
        if server.key_name is not None:
            keypair = (await session.execute(select(KeypairRow).where(
                KeypairRow.user_id == user_id, KeypairRow.name == server.key_name))).scalar()
            if keypair is None:
                raise core_errors.BadRequest("Invalid key_name provided.")
        group = await _group(session, ctx, hints)
        limit = await quotas.limits(session, deps.settings.compute.quotas, project_id)
        if 0 <= limit["metadata_items"] < len(server.metadata):
            raise errors.QuotaExceeded(resources="metadata_items", requested=len(server.metadata),
                                       used=0, allowed=limit["metadata_items"])
        counted = not quotas.unlimited(limit)
        used = await quotas.instance_usage(session, project_id) if counted else \
            quotas.NOTHING_COUNTED
        count, stopper = quotas.instances_that_fit(limit, used, flavor.vcpus, flavor.memory_mb,
                                                   max_count)
        if count < min_count:
            raise quotas.exceeded(limit, used, stopper or "instances", flavor.vcpus,
                                  flavor.memory_mb, min_count)
        if group is not None and await quotas.group_members_over(session, limit, group.id,
                                                                 user_id, count):
            raise errors.GroupMemberLimitExceeded()
        rows = []
        for index in range(count):
            name = server.name if count == 1 else f"{server.name}-{index + 1}"
            row = InstanceRow(
                uuid=str(uuid.uuid4()), project_id=project_id, user_id=user_id,
                display_name=name, display_description=server.description,
                hostname=hostname_for(name), image_ref=image.id,
                flavor=flavor.model_dump(mode="json"), vcpus=flavor.vcpus,
                memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
                vm_state=VmState.BUILDING, task_state=TaskState.SCHEDULING,
                power_state=PowerState.NOSTATE, availability_zone=zone,
                key_name=keypair.name if keypair else None,
                key_data=keypair.public_key if keypair else None, user_data=server.user_data,
                config_drive="True" if server.config_drive in (True, "true", "True") else "",
                reservation_id=reservation_id, launch_index=index,
                access_ip_v4=server.accessIPv4, access_ip_v6=server.accessIPv6,
                system_metadata=disk_config.with_choice(
                    {"image_" + k: str(v) for k, v in image.properties.items()
                     if isinstance(v, str | int | float | bool)}, auto_disk))
            session.add(row)
            rows.append(row)
        spec = RequestSpec(
            instance_uuids=[r.uuid for r in rows], project_id=project_id, user_id=user_id,
            flavor=flavor, image_id=image.id, image_properties=image.properties,
            availability_zone=zone, force_host=forced_host, force_node=forced_node,
            requested_host=server.host, requested_node=server.hypervisor_hostname,
            group_uuid=group.uuid if group else None, group_policy=group.policy if group else None,
            group_max_per_host=(group.rules or {}).get("max_server_per_host") if group else None,
            same_host=same_host, different_host=different_host,
            requested_networks=requested_networks)
        for row in rows:
            # Kept so that the conductor can schedule it again if the cast below is lost.
            row.request_spec = {"spec": spec.model_copy(update={"instance_uuids": [row.uuid]})
                                .model_dump(mode="json")}
        await session.flush()
        for row in rows:
            for key, value in server.metadata.items():
                session.add(InstanceMetadataRow(instance_uuid=row.uuid, key=key, value=value))
            for tag in dict.fromkeys(server.tags or []):
                session.add(InstanceTagRow(instance_uuid=row.uuid, tag=tag))
            if group is not None:
                session.add(ServerGroupMemberRow(group_id=group.id, instance_uuid=row.uuid))
            await instances.start_action(session, ctx, row.uuid, "create")

    # Counted again once our rows are committed and visible to every other creator (a
    # transaction's own snapshot would hide theirs under REPEATABLE READ): whoever finds the
    # limit passed takes its rows back, so racing creates never exceed a quota together.
    async with deps.read() as session:
        again = await quotas.instance_usage(session, project_id) if counted else \
            quotas.NOTHING_COUNTED
        crowded = group is not None and await quotas.group_members_over(session, limit, group.id,
                                                                        user_id, 0)
    if crowded:
        await _remove(deps, [r.uuid for r in rows])
        raise errors.GroupMemberLimitExceeded()
    for resource, in_use in (("instances", again.instances), ("cores", again.cores),
                             ("ram", again.ram)):
        if 0 <= limit[resource] < in_use:
            await _remove(deps, [r.uuid for r in rows])
            raise quotas.exceeded(limit, used, resource, flavor.vcpus, flavor.memory_mb, count)

    if wanted.volumes:  # parse() allows volumes for a single server only
        try:
            await boot_volumes.reserve(deps, ctx, project_id, rows[0].uuid, wanted)
        except BaseException:
            await _remove(deps, [r.uuid for r in rows])
            raise
    await deps.conductor.schedule_and_build_instances(ctx, spec)
    servers = [Server(r, dict(server.metadata), list(dict.fromkeys(server.tags or [])), None,
                      [group.uuid] if group else []) for r in rows]
    return Created(servers, reservation_id, admin_pass)


# -- reading -------------------------------------------------------------------------------


# The reads every server view makes, built once: building a statement and its cache key
# cost more than SQLite running it (a list page of 60 servers: IN lists of 60 literals each).
_UUIDS: BindParameter[list[str]] = bindparam("uuids", expanding=True)
_METADATA_OF = select(InstanceMetadataRow).where(InstanceMetadataRow.instance_uuid.in_(_UUIDS))
_TAGS_OF = select(InstanceTagRow).where(
    InstanceTagRow.instance_uuid.in_(_UUIDS)).order_by(InstanceTagRow.tag)
_FAULTS_OF = select(InstanceFaultRow).where(
    InstanceFaultRow.instance_uuid.in_(_UUIDS)).order_by(InstanceFaultRow.id)
_GROUPS_OF = select(ServerGroupMemberRow.instance_uuid, ServerGroupRow.uuid).join(
    ServerGroupRow, ServerGroupRow.id == ServerGroupMemberRow.group_id).where(
    ServerGroupMemberRow.instance_uuid.in_(_UUIDS))


async def assemble(session: AsyncSession, rows: list[InstanceRow]) -> list[Server]:
    uuids = [r.uuid for r in rows]
    metadata: dict[str, dict[str, str]] = {u: {} for u in uuids}
    tags: dict[str, list[str]] = {u: [] for u in uuids}
    faults: dict[str, Fault] = {}
    groups: dict[str, list[str]] = {u: [] for u in uuids}
    if uuids:
        which = {"uuids": uuids}
        for m in (await session.execute(_METADATA_OF, which)).scalars():
            metadata[m.instance_uuid][m.key] = m.value
        for t in (await session.execute(_TAGS_OF, which)).scalars():
            tags[t.instance_uuid].append(t.tag)
        for f in (await session.execute(_FAULTS_OF, which)).scalars():
            faults[f.instance_uuid] = Fault(f.code, f.message, f.details, f.created_at)
        for member_uuid, group_uuid in (await session.execute(_GROUPS_OF, which)).all():
            groups[member_uuid].append(group_uuid)
    mappings = await block_devices.of_instances(session, uuids)
    return [Server(r, metadata[r.uuid], tags[r.uuid], faults.get(r.uuid), groups[r.uuid],
                   volumes=[(m.volume_id, m.delete_on_termination) for m in mappings[r.uuid]])
            for r in rows]


async def visible_row(session: AsyncSession, ctx: RequestContext, server_id: str) -> InstanceRow:
    row = await session.get(InstanceRow, server_id) if _is_uuid(server_id) else None
    if row is None or row.deleted_at is not None or not ctx.may_see(row.project_id):
        raise errors.ServerNotFound(server_id=server_id)
    return row


async def authorized_row(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                         rule: str) -> InstanceRow:
    """The server's row, read in a transaction of its own, once policy `rule` allows it."""
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
    deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
    return row


async def get_server(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> Server:
    async with deps.read() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:servers:show", ctx, {"project_id": row.project_id})
        return (await assemble(session, [row]))[0]


def host_id(project_id: str, host: str | None) -> str:
    """Nova's hostId: the same for one project's servers on one host, opaque across projects."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


async def update_server(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                        changes: dict[str, Any], version: tuple[int, int]) -> Server:
    if "description" in changes and version < (2, 19):
        raise core_errors.BadRequest("description needs microversion 2.19 or later")
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        deps.policy.authorize("os_compute_api:servers:update", ctx, {"project_id": row.project_id})
        columns = {"name": "display_name", "description": "display_description",
                   "accessIPv4": "access_ip_v4", "accessIPv6": "access_ip_v6"}
        for key, value in changes.items():
            if key in columns:
                setattr(row, columns[key], value)
        if "name" in changes:
            row.hostname = hostname_for(changes["name"])
        if changes.get("disk_config") is not None:
            row.system_metadata = disk_config.with_choice(row.system_metadata,
                                                          changes["disk_config"] == "AUTO")
        row.updated_at = db.utcnow()
        return (await assemble(session, [row]))[0]


async def delete_server(deps: ComputeDeps, ctx: RequestContext, server_id: str, *,
                        force: bool = False) -> None:
    """Mark the server deleting and have its host destroy the guest; its agent finishes the
    rest (instance_destroyed). A server that never reached a host and holds nothing is
    deleted here at once.

    As Nova, the delete is local when the server's host's compute service is down, or when it
    has no host but holds ports or volumes (shelved offloaded, say): the conductor releases
    what the agent would have and deletes it, and an agent that comes back destroys the guest
    it finds. A delete already under way on a down host (its message lost) finishes so too."""
    async with deps.write() as session:
        row = await visible_row(session, ctx, server_id)
        rule = "os_compute_api:servers:delete" if not force else "os_compute_api:os-deferred-delete:force"
        deps.policy.authorize(rule, ctx, {"project_id": row.project_id})
        if row.locked and not ctx.is_admin:
            raise errors.InstanceLocked(server_id=server_id)
        host = row.host
        if host is None:
            local = bool(row.network_info) or bool(await block_devices.of_instance(session,
                                                                                   row.uuid))
        else:
            local = not await compute_services.host_is_up(deps, session, host)
        if row.task_state == TaskState.DELETING and not local:
            return  # already on its way; the agent's reconciliation retries a lost message
        await instances.start_action(session, ctx, row.uuid, "delete")
        if host is None and not local:
            await instances.mark_deleted(session, row)
            return
        changed = await instances.compare_and_swap(session, row.uuid,
                                                   {"task_state": TaskState.DELETING})
        if not changed:
            raise errors.ServerNotFound(server_id=server_id)
        confirming = await _confirm_on_delete(session, row)
    if confirming is not None:
        await deps.conductor.moves.confirm_resize(ctx, confirming)
    if local:
        await deps.conductor.delete_locally(ctx, server_id)
    else:
        assert host is not None
        await deps.agents.terminate_instance(ctx, host, server_id)


async def _confirm_on_delete(session: AsyncSession, row: InstanceRow) -> str | None:
    """A server deleted in VERIFY_RESIZE has its resize confirmed first, as Nova does, so
    that the source host drops the copy it kept for a revert; the migration to confirm."""
    if row.vm_state != VmState.RESIZED:
        return None
    migration = await migrations.latest(session, row.uuid, (migrations.FINISHED,))
    if migration is None or not await migrations.set_status(
            session, migration.uuid, "confirming", expected=(migrations.FINISHED,)):
        return None
    return migration.uuid


async def _remove(deps: ComputeDeps, uuids: list[str]) -> None:
    """Take back instances that never reached the conductor: no trace of them is left."""
    async with deps.write() as session:
        for model in (InstanceMetadataRow, InstanceTagRow, ServerGroupMemberRow):
            await session.execute(delete(model).where(model.instance_uuid.in_(uuids)))
        await session.execute(delete(InstanceActionRow).where(InstanceActionRow.instance_uuid.in_(uuids)))
        await session.execute(delete(InstanceRow).where(InstanceRow.uuid.in_(uuids)))
