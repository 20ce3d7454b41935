"""Block storage's RPC interfaces: the only way its parts reach each other.

    scheduler = SchedulerAPI(transport)
    await scheduler.create_volume(ctx, request)           # picks a host, casts to it
    await VolumeAPI(transport).delete_volume(ctx, "node1", volume_id)

Three endpoints: the scheduler (topic `volume-scheduler`) places new volumes; the volume
manager of each host (`volume.<host>`) drives its backend; the volume conductor
(`volume-conductor`) writes what managers report. Scheduler and conductor own the database and
run together (`nimbus serve volume-scheduler`); managers never open it, so a storage host needs
only the bus, as compute hosts do.
"""

from __future__ import annotations

from typing import Any

from nimbus.core.context import RequestContext
from nimbus.core.rpc import RpcClient, Transport
from nimbus.volume.objects import BackendReport, CreateRequest, SnapshotOnHost, VolumeOnHost

SCHEDULER_TOPIC = "volume-scheduler"
CONDUCTOR_TOPIC = "volume-conductor"
VOLUME_TOPIC = "volume"
API_VERSION = "1.0"


class SchedulerAPI:
    def __init__(self, transport: Transport, *, timeout: float = 60.0) -> None:
        self.client = RpcClient(transport, SCHEDULER_TOPIC, version=API_VERSION, timeout=timeout)

    async def create_volume(self, ctx: RequestContext, request: CreateRequest) -> None:
        """Place the volume on a host and have that host create it; errors end in `error`."""
        await self.client.cast(ctx, "create_volume", request=request.model_dump(mode="json"))


class ConductorAPI:
    """The only path from a volume host to the database."""

    def __init__(self, transport: Transport, *, timeout: float = 60.0) -> None:
        self.client = RpcClient(transport, CONDUCTOR_TOPIC, version=API_VERSION, timeout=timeout)

    async def volume_update(self, ctx: RequestContext, volume_id: str, updates: dict[str, Any],
                            *, expected_status: list[str] | None = None) -> bool:
        """Apply `updates` if the status is still one of `expected_status`; whether it was."""
        return bool(await self.client.call(ctx, "volume_update", volume_id=volume_id,
                                           updates=updates, expected_status=expected_status))

    async def volume_deleted(self, ctx: RequestContext, volume_id: str) -> None:
        await self.client.call(ctx, "volume_deleted", volume_id=volume_id)

    async def snapshot_update(self, ctx: RequestContext, snapshot_id: str,
                              updates: dict[str, Any], *,
                              expected_status: list[str] | None = None) -> bool:
        return bool(await self.client.call(ctx, "snapshot_update", snapshot_id=snapshot_id,
                                           updates=updates, expected_status=expected_status))

    async def snapshot_deleted(self, ctx: RequestContext, snapshot_id: str) -> None:
        await self.client.call(ctx, "snapshot_deleted", snapshot_id=snapshot_id)

    async def backend_report(self, ctx: RequestContext, report: BackendReport) -> None:
        await self.client.call(ctx, "backend_report", report=report.model_dump(mode="json"))

    async def service_heartbeat(self, ctx: RequestContext, binary: str, host: str,
                                topic: str | None) -> None:
        await self.client.call(ctx, "service_heartbeat", binary=binary, host=host, topic=topic)

    async def work_on_host(self, ctx: RequestContext,
                           host: str) -> tuple[list[VolumeOnHost], list[SnapshotOnHost]]:
        """The volumes and snapshots the database places on `host`, for reconciliation."""
        found = await self.client.call(ctx, "work_on_host", host=host)
        return ([VolumeOnHost.model_validate(v) for v in found["volumes"]],
                [SnapshotOnHost.model_validate(s) for s in found["snapshots"]])


class VolumeAPI:
    """One host's volume manager: `volume.<host>`."""

    def __init__(self, transport: Transport, *, timeout: float = 60.0) -> None:
        self.client = RpcClient(transport, VOLUME_TOPIC, version=API_VERSION, timeout=timeout)

    def _on(self, host: str) -> RpcClient:
        return self.client.prepare(server=host)

    async def create_volume(self, ctx: RequestContext, host: str, request: CreateRequest) -> None:
        await self._on(host).cast(ctx, "create_volume", request=request.model_dump(mode="json"))

    async def delete_volume(self, ctx: RequestContext, host: str, volume_id: str) -> None:
        await self._on(host).cast(ctx, "delete_volume", volume_id=volume_id)

    async def extend_volume(self, ctx: RequestContext, host: str, volume_id: str, new_size: int,
                            *, restore_status: str) -> None:
        await self._on(host).cast(ctx, "extend_volume", volume_id=volume_id, new_size=new_size,
                                  restore_status=restore_status)

    async def create_snapshot(self, ctx: RequestContext, host: str, snapshot_id: str,
                              volume_id: str) -> None:
        await self._on(host).cast(ctx, "create_snapshot", snapshot_id=snapshot_id,
                                  volume_id=volume_id)

    async def delete_snapshot(self, ctx: RequestContext, host: str, snapshot_id: str) -> None:
        await self._on(host).cast(ctx, "delete_snapshot", snapshot_id=snapshot_id)

    async def revert_to_snapshot(self, ctx: RequestContext, host: str, volume_id: str,
                                 snapshot_id: str, size: int) -> None:
        await self._on(host).cast(ctx, "revert_to_snapshot", volume_id=volume_id,
                                  snapshot_id=snapshot_id, size=size)

    async def upload_to_image(self, ctx: RequestContext, host: str, volume_id: str, image_id: str,
                              disk_format: str, *, restore_status: str) -> None:
        await self._on(host).cast(ctx, "upload_to_image", volume_id=volume_id, image_id=image_id,
                                  disk_format=disk_format, restore_status=restore_status)

    async def initialize_connection(self, ctx: RequestContext, host: str, volume_id: str,
                                    connector: dict[str, Any]) -> dict[str, Any]:
        info = await self._on(host).call(ctx, "initialize_connection", volume_id=volume_id,
                                         connector=connector)
        return dict(info)
