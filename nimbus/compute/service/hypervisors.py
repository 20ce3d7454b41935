"""os-hypervisors: compute nodes (as their agents report them) with their service's state.

A node whose compute service is gone is not listed, as in Nova. Ids are the node's integer
id before 2.53 and its uuid (its placement resource provider's) from 2.53.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import ComputeNodeRow, InstanceRow
from nimbus.compute.rpcapi import COMPUTE_BINARY
from nimbus.compute.service.compute_services import Service, is_uuid, to_service
from nimbus.compute.states import TaskState
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext
from nimbus.core.service import ServiceRow

# Nova's current_workload: instances in the middle of one of these.
_WORKLOAD_STATES = (TaskState.RESIZE_MIGRATING, TaskState.REBUILDING, TaskState.RESIZE_PREP,
                    TaskState.IMAGE_SNAPSHOT, TaskState.RESCUING, TaskState.UNSHELVING)


@dataclasses.dataclass(frozen=True)
class Hypervisor:
    id: int
    uuid: str
    hostname: str
    host: str
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    current_workload: int
    cpu_info: str
    service: Service
    # (name, uuid) of the servers on its host, when asked for.
    servers: list[tuple[str, str]] | None = None

    @property
    def free_ram_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> int:
        return self.local_gb - self.local_gb_used


async def _assemble(deps: ComputeDeps, session: AsyncSession, nodes: Sequence[ComputeNodeRow],
                    with_servers: bool) -> list[Hypervisor]:
    hosts = sorted({n.host for n in nodes})
    services = {r.host: r for r in (await session.execute(select(ServiceRow).where(
        ServiceRow.binary == COMPUTE_BINARY, ServiceRow.host.in_(hosts)))).scalars()}
    busy = await session.execute(
        select(InstanceRow.node, func.count()).where(
            InstanceRow.host.in_(hosts), InstanceRow.deleted_at.is_(None),
            InstanceRow.task_state.in_([str(s) for s in _WORKLOAD_STATES]))
        .group_by(InstanceRow.node))
    workload = {node: int(count) for node, count in busy.all()}
    servers: dict[str, list[tuple[str, str]]] = {h: [] for h in hosts}
    if with_servers:
        rows = await session.execute(
            select(InstanceRow.host, InstanceRow.display_name, InstanceRow.uuid).where(
                InstanceRow.host.in_(hosts), InstanceRow.deleted_at.is_(None))
            .order_by(InstanceRow.created_at, InstanceRow.uuid))
        for host, name, uuid in rows.all():
            servers[host or ""].append((name, uuid))
    now, down = db.utcnow(), deps.settings.compute.service_down_time
    found = []
    for node in nodes:
        service = services.get(node.host)
        if service is None:
            continue
        found.append(Hypervisor(
            node.id, node.uuid, node.hypervisor_hostname, node.host, node.hypervisor_type,
            node.hypervisor_version, node.host_ip, node.vcpus, node.memory_mb, node.local_gb,
            node.vcpus_used, node.memory_mb_used, node.local_gb_used, node.running_vms,
            workload.get(node.hypervisor_hostname, 0), node.cpu_info,
            to_service(service, now, down), servers[node.host] if with_servers else None))
    return found


async def list_hypervisors(deps: ComputeDeps, ctx: RequestContext, *, detail: bool,
                           limit: int | None = None, marker: str | None = None,
                           by_uuid: bool = False, pattern: str | None = None,
                           with_servers: bool = False) -> list[Hypervisor]:
    """One page ordered by id, or (`pattern`) every node whose name contains it (404 if none)."""
    rule = "list-detail" if detail else "list"
    deps.policy.authorize(f"os_compute_api:os-hypervisors:{rule}", ctx, {})
    async with deps.read() as session:
        query = select(ComputeNodeRow).order_by(ComputeNodeRow.id)
        if pattern is not None:
            nodes = list((await session.execute(query.where(
                ComputeNodeRow.hypervisor_hostname.contains(pattern, autoescape=True)))).scalars())
            if not nodes:
                raise errors.NoHypervisorMatch(pattern=pattern)
            return await _assemble(deps, session, nodes, with_servers)
        if marker is not None:
            after = await _find(session, marker, by_uuid)
            if after is None:
                raise core_errors.BadRequest(f"marker [{marker}] not found")
            query = query.where(ComputeNodeRow.id > after.id)
        page = min(limit if limit is not None else deps.settings.compute.max_limit,
                   deps.settings.compute.max_limit)
        nodes = list((await session.execute(query.limit(page))).scalars())
        return await _assemble(deps, session, nodes, with_servers)


async def search(deps: ComputeDeps, ctx: RequestContext, pattern: str, *,
                 with_servers: bool) -> list[Hypervisor]:
    """The pre-2.53 `/{pattern}/search` and `/{pattern}/servers` routes."""
    rule = "servers" if with_servers else "search"
    deps.policy.authorize(f"os_compute_api:os-hypervisors:{rule}", ctx, {})
    async with deps.read() as session:
        nodes = list((await session.execute(select(ComputeNodeRow).where(
            ComputeNodeRow.hypervisor_hostname.contains(pattern, autoescape=True)).order_by(
            ComputeNodeRow.id))).scalars())
        if not nodes:
            raise errors.NoHypervisorMatch(pattern=pattern)
        return await _assemble(deps, session, nodes, with_servers)


async def _find(session: AsyncSession, ident: str, by_uuid: bool) -> ComputeNodeRow | None:
    condition: ColumnElement[bool]
    if by_uuid:
        condition = ComputeNodeRow.uuid == ident
    else:
        try:
            condition = ComputeNodeRow.id == int(ident)
        except ValueError:
            return None
    return (await session.execute(select(ComputeNodeRow).where(condition))).scalar()


async def get_hypervisor(deps: ComputeDeps, ctx: RequestContext, hypervisor_id: str, *,
                         by_uuid: bool, with_servers: bool = False,
                         rule: str = "show") -> Hypervisor:
    deps.policy.authorize(f"os_compute_api:os-hypervisors:{rule}", ctx, {})
    if by_uuid and not is_uuid(hypervisor_id):
        raise core_errors.BadRequest(f"Invalid uuid {hypervisor_id}")
    async with deps.read() as session:
        node = await _find(session, hypervisor_id, by_uuid)
        found = await _assemble(deps, session, [node], with_servers) if node else []
    if not found:
        raise errors.HypervisorNotFound(hypervisor_id=hypervisor_id)
    return found[0]


async def uptime(deps: ComputeDeps, ctx: RequestContext, hypervisor_id: str, *,
                 by_uuid: bool) -> str:
    """Nova asks the host; no driver here reports an uptime, so this is Nova's answer for
    such drivers (501) once the hypervisor is known to exist."""
    await get_hypervisor(deps, ctx, hypervisor_id, by_uuid=by_uuid, rule="uptime")
    raise errors.FeatureNotSupported()


STATISTICS = ("count", "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
              "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
              "disk_available_least")


async def statistics(deps: ComputeDeps, ctx: RequestContext) -> dict[str, int]:
    """Sums over the nodes of enabled compute services (Nova's compute_node_statistics)."""
    deps.policy.authorize("os_compute_api:os-hypervisors:statistics", ctx, {})
    async with deps.read() as session:
        nodes = list((await session.execute(select(ComputeNodeRow).join(
            ServiceRow, (ServiceRow.host == ComputeNodeRow.host)
            & (ServiceRow.binary == COMPUTE_BINARY)).where(
            ServiceRow.disabled.is_(False)))).scalars())
        found = await _assemble(deps, session, nodes, with_servers=False)
    totals = dict.fromkeys(STATISTICS, 0)
    for hyp in found:
        totals["count"] += 1
        for key in STATISTICS[1:-1]:
            totals[key] += getattr(hyp, key)
        totals["disk_available_least"] += hyp.free_disk_gb
    return totals
