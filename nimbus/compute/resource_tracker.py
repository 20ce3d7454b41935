"""A host's resources as placement and os-hypervisors must see them, and its local claims.

Placement is the scheduler's truth; the local claim is a last check on the host itself, so
that a host never starts more than it has even if placement and reality disagree.
"""

from __future__ import annotations

import asyncio
import uuid

from nimbus.compute.objects import ComputeNodeReport, FlavorSpec
from nimbus.compute.rpcapi import ConductorAPI
from nimbus.compute.virt.driver import HostResources, VirtDriver
from nimbus.core.clients.placement import Inventory, PlacementClient
from nimbus.core.context import RequestContext

# Provider uuids derive from the node name, so a restarted agent finds its provider again.
_NAMESPACE = uuid.UUID("6f1d2a10-3c4b-4e7f-9a55-1b0c2d3e4f50")

CPU_ALLOCATION_RATIO = 4.0
RAM_ALLOCATION_RATIO = 1.0
DISK_ALLOCATION_RATIO = 1.0


class ClaimRejected(Exception):
    """The host lacks room for the instance: the build is retried elsewhere."""


def provider_uuid(host: str, node: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{host}/{node}"))


class ResourceTracker:
    def __init__(self, host: str, driver: VirtDriver, placement: PlacementClient,
                 conductor: ConductorAPI) -> None:
        self.host = host
        self.driver = driver
        self.placement = placement
        self.conductor = conductor
        self.claims: dict[str, FlavorSpec] = {}
        self._resources: HostResources | None = None
        self._lock = asyncio.Lock()
        self._reported_inventory: dict[str, Inventory] | None = None
        self._reported_node: ComputeNodeReport | None = None
        self._dirty = asyncio.Event()

    @property
    def node(self) -> str:
        return self._resources.hypervisor_hostname if self._resources else self.host

    @property
    def provider_uuid(self) -> str:
        return provider_uuid(self.host, self.node)

    def claim(self, instance_uuid: str, flavor: FlavorSpec) -> None:
        """Reserve the flavor's resources on this host; raises ClaimRejected if they lack."""
        res = self._resources
        if res is not None and instance_uuid not in self.claims:
            used_cpu = sum(f.vcpus for f in self.claims.values()) + flavor.vcpus
            used_ram = sum(f.memory_mb for f in self.claims.values()) + flavor.memory_mb
            if used_cpu > res.vcpus * CPU_ALLOCATION_RATIO or used_ram > res.memory_mb * RAM_ALLOCATION_RATIO:
                raise ClaimRejected(f"host {self.host} lacks room for {instance_uuid}")
        self.claims[instance_uuid] = flavor

    def release(self, instance_uuid: str) -> None:
        self.claims.pop(instance_uuid, None)

    def changed(self) -> None:
        """Usage changed: `report_changes` sends one report for any number of these."""
        self._dirty.set()

    async def report_changes(self, ctx: RequestContext, *, pause: float = 1.0) -> None:
        """Forever: after a change, wait `pause` so a burst of builds costs one report."""
        while True:
            await self._dirty.wait()
            await asyncio.sleep(pause)
            self._dirty.clear()
            await self.update(ctx)

    async def update(self, ctx: RequestContext, *, force: bool = False) -> None:
        """Report inventory to placement and usage to the conductor (os-hypervisors), each
        only when it differs from what was last reported (or when forced, periodically)."""
        async with self._lock:
            res = self._resources = await self.driver.host_resources()
            rp = self.provider_uuid
            inventory = {
                "VCPU": Inventory(total=res.vcpus, allocation_ratio=CPU_ALLOCATION_RATIO),
                "MEMORY_MB": Inventory(total=res.memory_mb, allocation_ratio=RAM_ALLOCATION_RATIO),
                "DISK_GB": Inventory(total=res.disk_gb, allocation_ratio=DISK_ALLOCATION_RATIO)}
            if force or inventory != self._reported_inventory:
                await self.placement.ensure_provider(rp, res.hypervisor_hostname)
                await self.placement.set_inventory(rp, inventory)
                self._reported_inventory = inventory
            flavors = list(self.claims.values())
            report = ComputeNodeReport(
                host=self.host, hypervisor_hostname=res.hypervisor_hostname, provider_uuid=rp,
                hypervisor_type=res.hypervisor_type, hypervisor_version=res.hypervisor_version,
                host_ip=res.host_ip, vcpus=res.vcpus, memory_mb=res.memory_mb,
                local_gb=res.disk_gb, vcpus_used=sum(f.vcpus for f in flavors),
                memory_mb_used=sum(f.memory_mb for f in flavors),
                local_gb_used=sum(f.root_gb + f.ephemeral_gb for f in flavors),
                running_vms=len(flavors), cpu_info=res.cpu_info)
            if force or report != self._reported_node:
                await self.conductor.compute_node_update(ctx, report)
                self._reported_node = report
