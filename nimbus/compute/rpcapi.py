"""Compute's RPC interfaces: the only way its parts reach each other.

    conductor = ConductorAPI(transport)
    await conductor.schedule_and_build_instances(ctx, spec)

Each class names its topic and API version; the endpoints (conductor/manager.py,
scheduler/manager.py, manager.py) implement the same method names with the payloads
of objects.py. A method added later bumps the minor version.
"""

from __future__ import annotations

from typing import Any

from nimbus.compute.objects import (
    BlockDevice,
    BuildRequest,
    ComputeNodeReport,
    InstanceOnHost,
    RequestedNetwork,
    RequestSpec,
    SelectionList,
)
from nimbus.compute.rpcapi_moves import AgentMovesAPI, ConductorMovesAPI
from nimbus.core.context import RequestContext
from nimbus.core.rpc import RpcClient, Transport

CONDUCTOR_TOPIC = "conductor"
SCHEDULER_TOPIC = "scheduler"
COMPUTE_TOPIC = "compute"
# The name compute agents go by in the services table and os-services, as Nova's.
COMPUTE_BINARY = "nova-compute"
API_VERSION = "1.0"


class ConductorAPI:
    """The only path from a compute host to the database, and the owner of the build flow."""

    def __init__(self, transport: Transport, *, timeout: float = 60.0) -> None:
        self.client = RpcClient(transport, CONDUCTOR_TOPIC, version=API_VERSION, timeout=timeout)
        self.moves = ConductorMovesAPI(self.client)

    async def schedule_and_build_instances(self, ctx: RequestContext, spec: RequestSpec) -> None:
        await self.client.cast(ctx, "schedule_and_build_instances", spec=spec.model_dump(mode="json"))

    async def build_failed(self, ctx: RequestContext, instance_uuid: str, host: str, *,
                           reason: str, retryable: bool) -> None:
        """The agent gave up on a build: reschedule to an alternate, or ERROR with a fault."""
        await self.client.call(ctx, "build_failed", instance_uuid=instance_uuid, host=host,
                               reason=reason, retryable=retryable)

    async def instance_update(self, ctx: RequestContext, instance_uuid: str,
                              updates: dict[str, Any], *,
                              expected_task_state: list[str | None] | None = None,
                              start_event: str | None = None, finish_event: str | None = None,
                              host: str | None = None, expected_host: str | None = None) -> bool:
        """Apply `updates` if the task state is still one of `expected_task_state` (and, given
        `expected_host`, the instance is still on that host); whether it was.

        With start_event/finish_event, the action event opens or closes in the same
        transaction when the update applies: one round trip for a step of a build.
        """
        result = await self.client.call(ctx, "instance_update", instance_uuid=instance_uuid,
                                        updates=updates, expected_task_state=expected_task_state,
                                        start_event=start_event, finish_event=finish_event,
                                        host=host, expected_host=expected_host)
        return bool(result)

    async def event_start(self, ctx: RequestContext, instance_uuid: str, event: str,
                          host: str) -> None:
        await self.client.call(ctx, "event_start", instance_uuid=instance_uuid, event=event,
                               host=host)

    async def event_finish(self, ctx: RequestContext, instance_uuid: str, event: str, host: str,
                           *, error: str | None = None) -> None:
        await self.client.call(ctx, "event_finish", instance_uuid=instance_uuid, event=event,
                               host=host, error=error)

    async def instance_destroyed(self, ctx: RequestContext, instance_uuid: str, host: str) -> None:
        """The guest is gone from `host`: finish the delete and free its resources."""
        await self.client.call(ctx, "instance_destroyed", instance_uuid=instance_uuid, host=host)

    async def delete_locally(self, ctx: RequestContext, instance_uuid: str) -> None:
        """Delete a server whose host is down (or that has none), releasing what its agent
        would have."""
        await self.client.call(ctx, "delete_locally", instance_uuid=instance_uuid)

    async def network_info(self, ctx: RequestContext, instance_uuid: str) -> list[dict[str, Any]]:
        """The instance's ports as its agent recorded them (empty when it has none)."""
        found: list[dict[str, Any]] = await self.client.call(ctx, "network_info",
                                                             instance_uuid=instance_uuid)
        return found

    async def block_devices(self, ctx: RequestContext, instance_uuid: str) -> list[BlockDevice]:
        """The instance's volumes as its block device mappings hold them."""
        found = await self.client.call(ctx, "block_devices", instance_uuid=instance_uuid)
        return [BlockDevice.model_validate(item) for item in found]

    async def block_device_reserved(self, ctx: RequestContext, instance_uuid: str,
                                    volume_id: str, attachment_id: str) -> None:
        """Record the attachment the agent made for a volume made from an image."""
        await self.client.call(ctx, "block_device_reserved", instance_uuid=instance_uuid,
                               volume_id=volume_id, attachment_id=attachment_id)

    async def compute_node_update(self, ctx: RequestContext, report: ComputeNodeReport) -> None:
        await self.client.call(ctx, "compute_node_update", report=report.model_dump(mode="json"))

    async def service_heartbeat(self, ctx: RequestContext, binary: str, host: str,
                                topic: str | None) -> None:
        await self.client.call(ctx, "service_heartbeat", binary=binary, host=host, topic=topic)

    async def shelved_to_offload(self, ctx: RequestContext, host: str,
                                 after: float) -> list[str]:
        """Servers shelved on `host` longer than `after` seconds, now shelving_offloading."""
        found: list[str] = await self.client.call(ctx, "shelved_to_offload", host=host,
                                                  after=after)
        return found

    async def instances_on_host(self, ctx: RequestContext, host: str) -> list[InstanceOnHost]:
        rows = await self.client.call(ctx, "instances_on_host", host=host)
        return [InstanceOnHost.model_validate(row) for row in rows]

    async def unshelve_instance(self, ctx: RequestContext, instance_uuid: str,
                                zone: str | None) -> None:
        """Schedule an offloaded server (task unshelving) and have the chosen host build it."""
        await self.client.cast(ctx, "unshelve_instance", instance_uuid=instance_uuid, zone=zone)


class SchedulerAPI:
    def __init__(self, transport: Transport, *, timeout: float = 60.0) -> None:
        self.client = RpcClient(transport, SCHEDULER_TOPIC, version=API_VERSION, timeout=timeout)

    async def select_destinations(self, ctx: RequestContext, spec: RequestSpec,
                                  alternates: int) -> list[SelectionList]:
        """One list per instance of the spec: a claimed host, then unclaimed alternates.

        Raises NoValidHost naming the filters that removed hosts.
        """
        result = await self.client.call(ctx, "select_destinations",
                                        spec=spec.model_dump(mode="json"), alternates=alternates)
        return [SelectionList.model_validate(item) for item in result]


class ComputeAgentAPI:
    """One host's agent: `compute.<host>`."""

    def __init__(self, transport: Transport, *, timeout: float = 60.0) -> None:
        self.client = RpcClient(transport, COMPUTE_TOPIC, version=API_VERSION, timeout=timeout)
        self.moves = AgentMovesAPI(self.client)

    def _on(self, host: str) -> RpcClient:
        return self.client.prepare(server=host)

    async def build_and_run_instance(self, ctx: RequestContext, host: str,
                                     request: BuildRequest) -> None:
        await self._on(host).cast(ctx, "build_and_run_instance",
                                  request=request.model_dump(mode="json"))

    async def terminate_instance(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        await self._on(host).cast(ctx, "terminate_instance", instance_uuid=instance_uuid)

    async def power_action(self, ctx: RequestContext, host: str, instance_uuid: str,
                           action: str) -> None:
        """stop, start, reboot_soft, reboot_hard, pause, unpause, suspend, resume."""
        await self._on(host).cast(ctx, "power_action", instance_uuid=instance_uuid, action=action)

    async def attach_interface(self, ctx: RequestContext, host: str, instance_uuid: str,
                               project_id: str, zone: str | None,
                               requested: RequestedNetwork) -> dict[str, Any]:
        """A port created or bound on the host and added to the instance; its cache entry."""
        entry: dict[str, Any] = await self._on(host).call(
            ctx, "attach_interface", instance_uuid=instance_uuid, project_id=project_id,
            zone=zone, requested=requested.model_dump(mode="json"))
        return entry

    async def detach_interface(self, ctx: RequestContext, host: str, instance_uuid: str,
                               port_id: str) -> None:
        await self._on(host).call(ctx, "detach_interface", instance_uuid=instance_uuid,
                                  port_id=port_id)

    async def attach_volume(self, ctx: RequestContext, host: str, instance_uuid: str,
                            device: BlockDevice) -> dict[str, Any]:
        """Connect the reserved volume and hot-plug it; the connection_info it got."""
        info: dict[str, Any] = await self._on(host).call(
            ctx, "attach_volume", instance_uuid=instance_uuid,
            device=device.model_dump(mode="json"))
        return info

    async def detach_volume(self, ctx: RequestContext, host: str, instance_uuid: str,
                            device: BlockDevice) -> None:
        """Unplug the volume and delete its attachment."""
        await self._on(host).call(ctx, "detach_volume", instance_uuid=instance_uuid,
                                  device=device.model_dump(mode="json"))

    async def swap_volume(self, ctx: RequestContext, host: str, instance_uuid: str,
                          old: BlockDevice, new: BlockDevice) -> dict[str, Any]:
        """Move the guest from the old volume to the new, reserved one; the new one's
        connection_info."""
        info: dict[str, Any] = await self._on(host).call(
            ctx, "swap_volume", instance_uuid=instance_uuid, old=old.model_dump(mode="json"),
            new=new.model_dump(mode="json"))
        return info

    async def console_output(self, ctx: RequestContext, host: str, instance_uuid: str,
                             max_bytes: int | None) -> str:
        return str(await self._on(host).call(ctx, "console_output", instance_uuid=instance_uuid,
                                             max_bytes=max_bytes))

    # -- life-cycle actions (rescue, snapshot, rebuild, shelve); the API set the task state.

    async def rescue_instance(self, ctx: RequestContext, host: str, instance_uuid: str,
                              image_id: str | None, admin_password: str) -> None:
        await self._on(host).cast(ctx, "rescue_instance", instance_uuid=instance_uuid,
                                  image_id=image_id, admin_password=admin_password)

    async def unrescue_instance(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        await self._on(host).cast(ctx, "unrescue_instance", instance_uuid=instance_uuid)

    async def trigger_crash_dump(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        """A call: ActionNotSupported or InstanceNotReady come back to the API."""
        await self._on(host).call(ctx, "trigger_crash_dump", instance_uuid=instance_uuid)

    async def snapshot_instance(self, ctx: RequestContext, host: str, instance_uuid: str,
                                image_id: str, *, backup_type: str | None = None,
                                rotation: int | None = None) -> None:
        """createImage; createBackup with a backup type and the number of its kind to keep."""
        await self._on(host).cast(ctx, "snapshot_instance", instance_uuid=instance_uuid,
                                  image_id=image_id, backup_type=backup_type, rotation=rotation)

    async def rebuild_instance(self, ctx: RequestContext, host: str, request: BuildRequest, *,
                               stop_after: bool) -> None:
        """A new root disk from `request.image_id`, the same ports; stopped after if it was."""
        await self._on(host).cast(ctx, "rebuild_instance", request=request.model_dump(mode="json"),
                                  stop_after=stop_after)

    async def shelve_instance(self, ctx: RequestContext, host: str, instance_uuid: str,
                              image_id: str, *, offload: bool) -> None:
        await self._on(host).cast(ctx, "shelve_instance", instance_uuid=instance_uuid,
                                  image_id=image_id, offload=offload)

    async def shelve_offload_instance(self, ctx: RequestContext, host: str,
                                      instance_uuid: str) -> None:
        await self._on(host).cast(ctx, "shelve_offload_instance", instance_uuid=instance_uuid)

    async def unshelve_on_host(self, ctx: RequestContext, host: str, instance_uuid: str,
                               image_id: str | None, system_metadata: dict[str, Any]) -> None:
        """A shelved server not offloaded: start it where it is."""
        await self._on(host).cast(ctx, "unshelve_on_host", instance_uuid=instance_uuid,
                                  image_id=image_id, system_metadata=system_metadata)

    async def unshelve_instance(self, ctx: RequestContext, host: str, request: BuildRequest,
                                system_metadata: dict[str, Any]) -> None:
        """An offloaded server scheduled here (claimed in placement): build it from its image."""
        await self._on(host).cast(ctx, "unshelve_instance", request=request.model_dump(mode="json"),
                                  system_metadata=system_metadata)
