"""Unshelving an offloaded server: schedule it again as at its build (in the zone asked, at
2.77), record the host and have that host build it from the shelved image. With no host for
it, the server stays offloaded and the action says why, as in Nova."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from nimbus.compute import host_zones
from nimbus.compute.models import InstanceMetadataRow, InstanceRow
from nimbus.compute.objects import BuildRequest, FlavorSpec, RequestSpec, Selection
from nimbus.compute.service import instances
from nimbus.compute.service.shelve import without_shelved
from nimbus.compute.states import TaskState
from nimbus.core import db
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.conductor.manager import ConductorManager

LOG = logging.getLogger(__name__)

EVENT = "conductor_unshelve_instance"


async def _spec(conductor: ConductorManager, uuid: str, zone: str | None) -> RequestSpec | None:
    async with conductor.factory() as session:
        row = await session.get(InstanceRow, uuid)
        if row is None or row.deleted_at is not None or row.task_state != TaskState.UNSHELVING:
            return None
        flavor = FlavorSpec.model_validate(row.flavor)
        saved = (row.request_spec or {}).get("spec")
        spec = RequestSpec.model_validate(saved) if saved else RequestSpec(
            instance_uuids=[uuid], project_id=row.project_id, user_id=row.user_id, flavor=flavor)
        return spec.model_copy(update={
            "instance_uuids": [uuid], "flavor": flavor,
            "image_id": row.system_metadata.get("shelved_image_id"),
            "availability_zone": zone or spec.availability_zone,
            "ignore_hosts": [], "preferred_hosts": [], "force_host": None, "force_node": None,
            "requested_host": None, "requested_node": None})


async def unshelve(conductor: ConductorManager, ctx: RequestContext, uuid: str,
                   zone: str | None) -> None:
    started = db.utcnow()
    spec = await _spec(conductor, uuid, zone)
    if spec is None:
        return
    try:
        chosen = (await conductor.scheduler.select_destinations(ctx, spec, alternates=0))[0]
    except Exception as exc:  # NoValidHost, or scheduling broken: stay offloaded, say why
        LOG.warning("unshelving %s found no host: %s", uuid, exc)
        async with db.transaction(conductor.factory) as session:
            if await instances.compare_and_swap(session, uuid, {"task_state": None},
                                                [TaskState.UNSHELVING]):
                await instances.event_finish(session, uuid, ctx.request_id, EVENT, None,
                                             error=str(exc), started=started)
                await instances.finish_action(session, uuid, ctx.request_id)
        return
    first = chosen.selections[0]
    build = await _record_host(conductor, ctx, uuid, first, spec, started)
    if build is None:  # deleted or reset meanwhile: give the claim back
        await conductor.placement.delete_allocations(uuid)
        return
    request, system_metadata = build
    await conductor.agents.unshelve_instance(ctx, first.host, request, system_metadata)


async def _record_host(conductor: ConductorManager, ctx: RequestContext, uuid: str,
                       chosen: Selection, spec: RequestSpec,
                       started: dt.datetime) -> tuple[BuildRequest, dict[str, Any]] | None:
    async with db.transaction(conductor.factory) as session:
        zone = (await host_zones.zoned_hosts(session, [chosen.host])).get(
            chosen.host, conductor.default_zone)
        if not await instances.compare_and_swap(
                session, uuid, {"host": chosen.host, "node": chosen.node,
                                "availability_zone": zone}, [TaskState.UNSHELVING]):
            return None
        row = await session.get(InstanceRow, uuid)
        assert row is not None
        await session.refresh(row)
        await instances.event_finish(session, uuid, ctx.request_id, EVENT, None, started=started)
        metadata = {m.key: m.value for m in (await session.execute(select(
            InstanceMetadataRow).where(InstanceMetadataRow.instance_uuid == uuid))).scalars()}
        request = BuildRequest(
            instance_uuid=uuid, name=row.display_name, hostname=row.hostname,
            project_id=row.project_id, user_id=row.user_id, flavor=spec.flavor,
            image_id=spec.image_id, key_data=row.key_data, user_data=row.user_data,
            metadata=metadata, node=chosen.node, availability_zone=zone,
            requested_networks=spec.requested_networks)
        return request, without_shelved(row.system_metadata)
