"""The conductor's RPC endpoint (topic `conductor`).

    RpcServer(transport, "conductor", host, ConductorManager(...), version=rpcapi.API_VERSION)

It schedules builds (asking the scheduler, which claims in placement), hands each instance to
its host, reschedules a failed build on another host while attempts remain, and writes what
agents report. Handlers are idempotent: a message can arrive twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, select, update

from nimbus.compute import errors, host_zones
from nimbus.compute.conductor import group_policy, stalled_builds, unshelve
from nimbus.compute.conductor.moves import ConductorMoves
from nimbus.compute.models import ComputeNodeRow, InstanceMetadataRow, InstanceRow
from nimbus.compute.objects import BuildRequest, ComputeNodeReport, FlavorSpec, RequestSpec
from nimbus.compute.ops.networking import Ports
from nimbus.compute.ops.volumes import Volumes
from nimbus.compute.rpcapi import ComputeAgentAPI, SchedulerAPI
from nimbus.compute.service import block_devices, instances
from nimbus.compute.states import PowerState, TaskState, VmState
from nimbus.core import db
from nimbus.core.clients.placement import PlacementClient
from nimbus.core.context import RequestContext
from nimbus.core.service import DbHeartbeat, ServiceIdentity

LOG = logging.getLogger(__name__)

BUILD_EVENT = "conductor_schedule_and_build_instances"

# A build's statements, built once on the tables: each boot runs them, and building ORM
# statements and loading the whole instance row cost more than the database work.
_INSTANCES = cast(Table, InstanceRow.__table__)
_METADATA_TABLE = cast(Table, InstanceMetadataRow.__table__)
_BUILD_ROW = select(
    _INSTANCES.c.deleted_at, _INSTANCES.c.task_state, _INSTANCES.c.display_name,
    _INSTANCES.c.hostname, _INSTANCES.c.project_id, _INSTANCES.c.user_id, _INSTANCES.c.flavor,
    _INSTANCES.c.image_ref, _INSTANCES.c.key_data, _INSTANCES.c.user_data).where(
    _INSTANCES.c.uuid == bindparam("instance"))
_PLACE = update(_INSTANCES).where(_INSTANCES.c.uuid == bindparam("instance")).values(
    host=bindparam("to_host"), node=bindparam("to_node"), availability_zone=bindparam("zone"),
    request_spec=bindparam("spec", type_=_INSTANCES.c.request_spec.type),
    updated_at=bindparam("now"))
_NODES = cast(Table, ComputeNodeRow.__table__)
_NODE_REPORT = update(_NODES).where(_NODES.c.host == bindparam("report_host"),
                                    _NODES.c.hypervisor_hostname == bindparam("report_node"))
_METADATA = select(_METADATA_TABLE.c.key, _METADATA_TABLE.c.value).where(
    _METADATA_TABLE.c.instance_uuid == bindparam("instance"))


class ConductorManager(ConductorMoves):
    def __init__(self, factory: db.SessionFactory, scheduler: SchedulerAPI,
                 agents: ComputeAgentAPI, placement: PlacementClient, ports: Ports,
                 volumes: Volumes, *, max_attempts: int,
                 build_timeout: float = 600.0, service_down_time: float = 60.0,
                 default_zone: str = "nova", allow_resize_to_same_host: bool = False) -> None:
        self.factory = factory
        self.scheduler = scheduler
        self.agents = agents
        self.placement = placement
        # What a host's agent releases at a delete, for the deletes done here without it.
        self.ports = ports
        self.volumes = volumes
        self.max_attempts = max_attempts
        self.build_timeout = build_timeout
        self.service_down_time = service_down_time
        self.default_zone = default_zone
        self.allow_resize_to_same_host = allow_resize_to_same_host
        self._heartbeat = DbHeartbeat(factory)

    # -- the build flow ------------------------------------------------------------------

    async def schedule_and_build_instances(self, ctx: RequestContext, spec: dict[str, Any]) -> None:
        request = RequestSpec.model_validate(spec)
        await self.schedule(ctx, request, attempt=1)

    async def schedule(self, ctx: RequestContext, request: RequestSpec, attempt: int) -> None:
        # The event is written once scheduling is decided, with the time it began.
        started = db.utcnow()
        try:
            selections = await self.scheduler.select_destinations(
                ctx, request, alternates=self.max_attempts - attempt)
        except errors.NoValidHost as exc:
            for uuid in request.instance_uuids:
                await self._set_error(ctx, uuid, exc.message, code=500, event=BUILD_EVENT,
                                      started=started)
            return
        except Exception as exc:  # scheduler or placement broken: never leave BUILD forever
            LOG.exception("scheduling %s failed", request.instance_uuids)
            for uuid in request.instance_uuids:
                await self._set_error(ctx, uuid, f"No valid host was found. Scheduling failed: {exc}",
                                      code=500, event=BUILD_EVENT, started=started)
            return
        for uuid, chosen in zip(request.instance_uuids, selections, strict=True):
            first = chosen.selections[0]
            alternates = [s.host for s in chosen.selections[1:]]
            one = request.model_copy(update={"instance_uuids": [uuid]})
            try:
                build = await self._prepare_build(ctx, uuid, first.host, first.node, one,
                                                  alternates, attempt, started)
            except group_policy.PolicyViolated as exc:
                # Another member took the host meanwhile; the scheduler sees it there now.
                # Each retry ignores one more host, so this ends.
                LOG.info("%s Scheduling %s again.", exc, uuid)
                await self.placement.delete_allocations(uuid)
                await self.schedule(ctx, one.model_copy(update={
                    "ignore_hosts": [*one.ignore_hosts, first.host]}), attempt)
                continue
            if build is None:  # deleted while scheduling: give the claim back
                await self.placement.delete_allocations(uuid)
                continue
            await self.agents.build_and_run_instance(ctx, first.host, build)

    async def unshelve_instance(self, ctx: RequestContext, instance_uuid: str,
                                zone: str | None) -> None:
        await unshelve.unshelve(self, ctx, instance_uuid, zone)

    async def reconcile_builds(self) -> None:
        """The periodic task: finish builds stalled for `build_timeout`."""
        await stalled_builds.reconcile(self, RequestContext.admin(), timeout=self.build_timeout,
                                       service_down_time=self.service_down_time)

    async def _prepare_build(self, ctx: RequestContext, uuid: str, host: str, node: str,
                             request: RequestSpec, alternates: list[str], attempt: int,
                             started: dt.datetime) -> BuildRequest | None:
        """Record the host on the instance (still `scheduling`); None if it is gone.

        Raises PolicyViolated, recording nothing, if a member of its affinity or anti-affinity
        group took a host meanwhile that makes this one wrong.
        """
        checked = group_policy.applies(request)
        async with db.transaction(self.factory) as session:
            if checked:
                await group_policy.lock(session, request)
            row = (await session.execute(_BUILD_ROW, {"instance": uuid})).first()
            if row is None or row.deleted_at is not None or row.task_state != TaskState.SCHEDULING:
                return None
            # As Nova: the server shows its host's zone, whether or not it asked for one.
            zoned = await host_zones.zoned_hosts(session, [host])
            zone = zoned.get(host, self.default_zone)
            await session.execute(_PLACE, {
                "instance": uuid, "to_host": host, "to_node": node, "zone": zone,
                "spec": {"spec": request.model_dump(mode="json"), "alternates": alternates,
                         "attempt": attempt, "tried": [*request.ignore_hosts, host]},
                "now": db.utcnow()})
            if checked:
                broken = await group_policy.violation(session, request, uuid, host)
                if broken is not None:
                    raise group_policy.PolicyViolated(broken)
            await instances.event_record(session, uuid, ctx.request_id, BUILD_EVENT, None,
                                         started=started)
            metadata = dict((await session.execute(_METADATA, {"instance": uuid})).all())
            return BuildRequest(instance_uuid=uuid, name=row.display_name, hostname=row.hostname,
                                project_id=row.project_id, user_id=row.user_id,
                                flavor=FlavorSpec.model_validate(row.flavor),
                                image_id=row.image_ref, key_data=row.key_data,
                                user_data=row.user_data, metadata=metadata, node=node,
                                attempt=attempt, availability_zone=zone,
                                requested_networks=request.requested_networks,
                                block_devices=await block_devices.payloads(session, uuid,
                                                                           row.project_id))

    async def build_failed(self, ctx: RequestContext, instance_uuid: str, host: str, reason: str,
                           retryable: bool) -> None:
        """Free the failed host's claim; retry elsewhere while attempts remain, else ERROR."""
        await self.placement.delete_allocations(instance_uuid)
        async with db.transaction(self.factory) as session:
            row = await session.get(InstanceRow, instance_uuid)
            if row is None or row.deleted_at is not None:
                return
            saved = dict(row.request_spec or {})
            attempt = int(saved.get("attempt", 1))
            tried = list(saved.get("tried", [host]))
            if row.task_state == TaskState.DELETING:
                retryable = False
            if retryable and attempt < self.max_attempts and "spec" in saved:
                moved = await instances.compare_and_swap(
                    session, instance_uuid, {"task_state": TaskState.SCHEDULING, "host": None,
                                             "node": None, "power_state": PowerState.NOSTATE},
                    expected_task_state=[TaskState.SCHEDULING, TaskState.NETWORKING,
                                         TaskState.BLOCK_DEVICE_MAPPING, TaskState.SPAWNING])
                spec = RequestSpec.model_validate(saved["spec"]).model_copy(update={
                    "ignore_hosts": tried,
                    "preferred_hosts": [h for h in saved.get("alternates", []) if h not in tried]})
            else:
                moved, spec = False, None
        if moved and spec is not None:
            LOG.info("rescheduling %s after a failed build on %s (attempt %d of %d): %s",
                     instance_uuid, host, attempt + 1, self.max_attempts, reason)
            await self.schedule(ctx, spec, attempt=attempt + 1)
            return
        message = reason if not retryable else f"Exceeded maximum number of retries. {reason}"
        await self._set_error(ctx, instance_uuid, message, code=500, host=host)

    async def _set_error(self, ctx: RequestContext, uuid: str, message: str, *, code: int,
                         host: str | None = None, event: str | None = None,
                         started: dt.datetime | None = None) -> None:
        async with db.transaction(self.factory) as session:
            changed = await instances.compare_and_swap(
                session, uuid, {"vm_state": VmState.ERROR, "task_state": None})
            if not changed:
                return
            await instances.add_fault(session, uuid, message, code=code, host=host)
            if event is not None:
                await instances.event_record(session, uuid, ctx.request_id, event, host,
                                             started=started or db.utcnow(), error=message)
            await instances.finish_action(session, uuid, ctx.request_id)
        LOG.warning("instance %s is in ERROR: %s", uuid, message)

    # -- what agents report ----------------------------------------------------------------

    async def instance_update(self, ctx: RequestContext, instance_uuid: str,
                              updates: dict[str, Any],
                              expected_task_state: list[str | None] | None = None,
                              start_event: str | None = None, finish_event: str | None = None,
                              host: str | None = None, expected_host: str | None = None) -> bool:
        for key in ("launched_at", "terminated_at"):
            if updates.get(key) == "now":
                updates[key] = db.utcnow()
        async with db.transaction(self.factory) as session:
            changed = await instances.compare_and_swap(session, instance_uuid, updates,
                                                       expected_task_state,
                                                       expected_host=expected_host)
            if changed and start_event is not None:
                await instances.event_start(session, instance_uuid, ctx.request_id, start_event,
                                            host)
            action_done = changed and updates.get("task_state", "-") is None
            if changed and finish_event is not None:
                await instances.event_finish(session, instance_uuid, ctx.request_id, finish_event,
                                             host, finish_action=action_done)
            elif action_done:
                await instances.finish_action(session, instance_uuid, ctx.request_id)
            return changed

    async def event_start(self, ctx: RequestContext, instance_uuid: str, event: str,
                          host: str) -> None:
        async with db.transaction(self.factory) as session:
            await instances.event_start(session, instance_uuid, ctx.request_id, event, host)

    async def event_finish(self, ctx: RequestContext, instance_uuid: str, event: str, host: str,
                           error: str | None = None) -> None:
        async with db.transaction(self.factory) as session:
            await instances.event_finish(session, instance_uuid, ctx.request_id, event, host,
                                         error)

    async def instance_destroyed(self, ctx: RequestContext, instance_uuid: str, host: str) -> None:
        """Idempotent: the guest is gone, so the claim is given back and the row deleted.

        The claim first: a server that shows deleted holds nothing, and should placement be
        out of reach the server stays in its delete, for the next attempt to finish."""
        await self.placement.delete_allocations(instance_uuid)
        async with db.transaction(self.factory) as session:
            row = await session.get(InstanceRow, instance_uuid)
            if row is not None and row.deleted_at is None:
                await instances.mark_deleted(session, row)
                await instances.finish_action(session, instance_uuid, ctx.request_id)
        await self.release_migrations(instance_uuid)

    async def delete_locally(self, ctx: RequestContext, instance_uuid: str) -> None:
        """Nova's local delete, for a server whose host's compute service is down or that
        has no host but holds ports or volumes (shelved offloaded): what the agent's delete
        would release (ports, volume attachments and delete_on_termination
        volumes, placement allocations) is released here, and the instance is deleted.
        A guest the host may still run goes when its agent starts again (its reconciliation
        destroys guests the database no longer has). Idempotent."""
        async with self.factory() as session:
            row = await session.get(InstanceRow, instance_uuid)
            if row is None:
                return
            host, ports = row.host or "", list(row.network_info or [])
            devices = await block_devices.payloads(session, instance_uuid, row.project_id)
        await self.ports.release(ports)
        await self.volumes.release(devices, deleting=True)
        await self.instance_destroyed(ctx, instance_uuid, host)

    async def compute_node_update(self, ctx: RequestContext, report: dict[str, Any]) -> None:
        node = ComputeNodeReport.model_validate(report)
        values = {"hypervisor_type": node.hypervisor_type,
                  "hypervisor_version": node.hypervisor_version, "host_ip": node.host_ip,
                  "cpu_info": node.cpu_info, "vcpus": node.vcpus, "memory_mb": node.memory_mb,
                  "local_gb": node.local_gb, "vcpus_used": node.vcpus_used,
                  "memory_mb_used": node.memory_mb_used, "local_gb_used": node.local_gb_used,
                  "running_vms": node.running_vms, "updated_at": db.utcnow()}
        async with db.transaction(self.factory) as session:
            # Every agent reports after each change of its usage: one statement, not an ORM
            # load and flush, for a node that exists (all but its first report).
            updated = await session.execute(_NODE_REPORT, {
                "report_host": node.host, "report_node": node.hypervisor_hostname, **values})
            if cast(CursorResult[Any], updated).rowcount == 0:
                session.add(ComputeNodeRow(uuid=node.provider_uuid, host=node.host,
                                           hypervisor_hostname=node.hypervisor_hostname, **values))

    async def service_heartbeat(self, ctx: RequestContext, binary: str, host: str,
                                topic: str | None) -> None:
        await self._heartbeat.beat(ServiceIdentity(binary, host, topic))

    async def network_info(self, ctx: RequestContext, instance_uuid: str) -> list[dict[str, Any]]:
        async with self.factory() as session:
            row = await session.get(InstanceRow, instance_uuid)
            return list(row.network_info or []) if row is not None else []

    async def block_devices(self, ctx: RequestContext,
                            instance_uuid: str) -> list[dict[str, Any]]:
        async with self.factory() as session:
            row = await session.get(InstanceRow, instance_uuid)
            if row is None:
                return []
            found = await block_devices.payloads(session, instance_uuid, row.project_id)
            return [d.model_dump(mode="json") for d in found]

    async def block_device_reserved(self, ctx: RequestContext, instance_uuid: str,
                                    volume_id: str, attachment_id: str) -> None:
        async with db.transaction(self.factory) as session:
            await block_devices.set_attachment(session, instance_uuid, volume_id, attachment_id)

    async def shelved_to_offload(self, ctx: RequestContext, host: str,
                                 after: float) -> list[str]:
        """The servers shelved on `host` more than `after` seconds ago and resting, each
        moved to shelving_offloading for the host to offload (Nova's _poll_shelved_instances)."""
        before = db.utcnow() - dt.timedelta(seconds=after)
        async with db.transaction(self.factory) as session:
            rows = (await session.execute(select(InstanceRow.uuid, InstanceRow.system_metadata)
                                          .where(InstanceRow.host == host,
                                                 InstanceRow.vm_state == VmState.SHELVED,
                                                 InstanceRow.task_state.is_(None),
                                                 InstanceRow.deleted_at.is_(None)))).all()
            due = [uuid for uuid, meta in rows if _shelved_before(meta, before)]
            return [uuid for uuid in due if await instances.compare_and_swap(
                session, uuid, {"task_state": TaskState.SHELVING_OFFLOADING}, [None],
                expected_host=host, expected_vm_state=VmState.SHELVED)]

    async def instances_on_host(self, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
        async with self.factory() as session:
            rows = await session.execute(select(InstanceRow).where(
                InstanceRow.host == host, InstanceRow.deleted_at.is_(None)))
            return [{"uuid": r.uuid, "vm_state": r.vm_state, "task_state": r.task_state,
                     "power_state": r.power_state, "flavor": r.flavor} for r in rows.scalars()]


def _shelved_before(system_metadata: dict[str, Any] | None, before: dt.datetime) -> bool:
    """Whether the server was shelved before `before` (both naive UTC, as db.utcnow)."""
    shelved_at = (system_metadata or {}).get("shelved_at")
    return isinstance(shelved_at, str) and dt.datetime.fromisoformat(shelved_at) < before
