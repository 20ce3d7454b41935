"""The volume manager's RPC endpoint (topic `volume`, one server per host).

    manager = VolumeManager(host, FileBackend(root, capacity_gb=1000), conductor, images, zone)
    await manager.start()        # reconcile with the backend, report capacity
    RpcServer(transport, "volume", host, manager)

It drives its backend and reports every outcome through the volume conductor; it never opens
the database. A failed create ends `error` and leaves no data behind (the backend writes aside
and renames). One lock per volume or snapshot serialises work on it, and every handler checks
what is already done, so a message delivered twice does no harm.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from nimbus.core.clients.image import ImageClient
from nimbus.core.context import RequestContext
from nimbus.core.service import HeartbeatSink, ServiceIdentity
from nimbus.volume import states
from nimbus.volume.backends import BackendFailed, VolumeBackend
from nimbus.volume.errors import BackendError
from nimbus.volume.objects import BackendReport, CreateRequest
from nimbus.volume.rpcapi import ConductorAPI

LOG = logging.getLogger(__name__)

BINARY = "cinder-volume"
# Glance's disk_format names as qemu-img calls them.
QEMU_FORMATS = {"raw": "raw", "iso": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi",
                "vhd": "vpc", "vhdx": "vhdx", "ploop": "parallels"}


class ConductorHeartbeat(HeartbeatSink):
    """Volume hosts report liveness through the volume conductor, never to the database."""

    def __init__(self, conductor: ConductorAPI) -> None:
        self.conductor = conductor

    async def beat(self, who: ServiceIdentity) -> None:
        await self.conductor.service_heartbeat(RequestContext.admin(), who.binary, who.host,
                                               who.topic)


class VolumeManager:
    def __init__(self, host: str, backend: VolumeBackend, conductor: ConductorAPI,
                 images: ImageClient, token: Callable[[], Awaitable[str]], *,
                 availability_zone: str, scratch: Path) -> None:
        self.host = host
        self.backend = backend
        self.conductor = conductor
        self.images = images
        self.token = token
        self.availability_zone = availability_zone
        self.scratch = scratch
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def _working_on(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def start(self) -> None:
        ctx = RequestContext.admin()
        await self.reconcile(ctx)
        await self.report_capacity(ctx)

    async def report_capacity(self, ctx: RequestContext) -> None:
        capacity = await self.backend.capacity()
        await self.conductor.backend_report(ctx, BackendReport(
            host=self.host, backend=self.backend.name, availability_zone=self.availability_zone,
            total_capacity_gb=capacity.total_gb, free_capacity_gb=capacity.free_gb,
            capabilities=capacity.capabilities))

    async def reconcile(self, ctx: RequestContext) -> None:
        """The backend's truth against the database, at start-up: work that died with the
        manager ends in error (creates) or completes (deletes); data no row knows is removed."""
        volumes, snapshots = await self.conductor.work_on_host(ctx, self.host)
        held = await self.backend.list_volumes()
        for volume in volumes:
            if volume.id in self._locks:
                continue
            if volume.status == states.DELETING:
                await self._delete_volume(ctx, volume.id)
            elif volume.status == states.CREATING:
                await self.backend.delete(volume.id)
                await self.conductor.volume_update(
                    ctx, volume.id, {"status": states.ERROR,
                                     "error_reason": f"The create stopped when {self.host} "
                                                     "restarted."},
                    expected_status=[states.CREATING])
            elif volume.status in (states.EXTENDING, states.UPLOADING):
                await self.conductor.volume_update(
                    ctx, volume.id, {"status": states.ERROR if volume.status == states.EXTENDING
                                     else states.AVAILABLE}, expected_status=[volume.status])
        for snapshot in snapshots:
            if snapshot.id in self._locks:
                continue
            if snapshot.status == states.DELETING:
                await self._delete_snapshot(ctx, snapshot.id)
            elif snapshot.status == states.CREATING:
                await self.backend.delete_snapshot(snapshot.id)
                await self.conductor.snapshot_update(ctx, snapshot.id, {"status": states.ERROR},
                                                     expected_status=[states.CREATING])
        for orphan in held - {v.id for v in volumes}:
            LOG.warning("removing volume %s from %s: the database does not know it",
                        orphan, self.host)
            await self.backend.delete(orphan)

    # -- volumes -------------------------------------------------------------------------------

    async def create_volume(self, ctx: RequestContext, request: dict[str, Any]) -> None:
        req = CreateRequest.model_validate(request)
        async with self._working_on(req.volume_id):
            if req.volume_id not in await self.backend.list_volumes():
                try:
                    await self._create(ctx, req)
                except Exception as exc:  # any failure: error, and no data left behind
                    LOG.warning("creating volume %s on %s failed: %s", req.volume_id,
                                self.host, exc)
                    await self.backend.delete(req.volume_id)
                    await self.conductor.volume_update(
                        ctx, req.volume_id, {"status": states.ERROR, "error_reason": str(exc)},
                        expected_status=[states.CREATING])
                    return
            done = await self.conductor.volume_update(
                ctx, req.volume_id, {"status": states.AVAILABLE, "launched_at": "now"},
                expected_status=[states.CREATING])
            if not done:
                LOG.info("volume %s was no longer creating when its data was ready",
                         req.volume_id)
        await self.report_capacity(ctx)

    async def _create(self, ctx: RequestContext, req: CreateRequest) -> None:
        source = req.source
        if source.kind == "blank":
            await self.backend.create(req.volume_id, req.size)
        elif source.kind == "snapshot":
            assert source.id is not None
            await self.backend.create_from_snapshot(req.volume_id, req.size, source.id)
        elif source.kind == "volume":
            assert source.id is not None
            await self.backend.clone(req.volume_id, req.size, source.id)
        else:
            await self._create_from_image(req)

    async def _create_from_image(self, req: CreateRequest) -> None:
        source = req.source
        assert source.id is not None
        fmt = QEMU_FORMATS.get(source.disk_format or "raw")
        if fmt is None:
            raise BackendFailed(f"images in {source.disk_format} cannot be written to a volume")
        token = await self.token()
        image = await self.images.get_image(token, source.id)
        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.scratch) as tmp:
            path = Path(tmp) / "image"
            await self.images.download(token, image, path)
            await self.backend.create_from_file(req.volume_id, req.size, path, fmt)

    async def delete_volume(self, ctx: RequestContext, volume_id: str) -> None:
        async with self._working_on(volume_id):
            await self._delete_volume(ctx, volume_id)
        await self.report_capacity(ctx)

    async def _delete_volume(self, ctx: RequestContext, volume_id: str) -> None:
        try:
            await self.backend.delete(volume_id)
        except (BackendFailed, OSError) as exc:
            await self.conductor.volume_update(
                ctx, volume_id, {"status": states.ERROR_DELETING, "error_reason": str(exc)},
                expected_status=[states.DELETING])
            return
        await self.conductor.volume_deleted(ctx, volume_id)

    async def extend_volume(self, ctx: RequestContext, volume_id: str, new_size: int,
                            restore_status: str) -> None:
        async with self._working_on(volume_id):
            try:
                await self.backend.extend(volume_id, new_size)
            except (BackendFailed, OSError) as exc:
                await self.conductor.volume_update(
                    ctx, volume_id, {"status": states.ERROR_EXTENDING, "error_reason": str(exc)},
                    expected_status=[states.EXTENDING])
                return
            await self.conductor.volume_update(ctx, volume_id, {"status": restore_status,
                                                                "size": new_size},
                                               expected_status=[states.EXTENDING])

    async def revert_to_snapshot(self, ctx: RequestContext, volume_id: str, snapshot_id: str,
                                 size: int) -> None:
        """Both go back to available; a failure leaves the volume as it was, in error."""
        async with self._working_on(volume_id):
            try:
                await self.backend.revert_to_snapshot(volume_id, snapshot_id, size)
            except (BackendFailed, OSError) as exc:
                LOG.warning("reverting volume %s to %s failed: %s", volume_id, snapshot_id, exc)
                await self.conductor.volume_update(ctx, volume_id, {
                    "status": states.ERROR, "error_reason": str(exc)},
                    expected_status=[states.REVERTING])
            else:
                await self.conductor.volume_update(ctx, volume_id, {"status": states.AVAILABLE},
                                                   expected_status=[states.REVERTING])
            await self.conductor.snapshot_update(ctx, snapshot_id, {"status": states.AVAILABLE},
                                                 expected_status=[states.RESTORING])

    async def upload_to_image(self, ctx: RequestContext, volume_id: str, image_id: str,
                              disk_format: str, restore_status: str) -> None:
        """Write the volume to the image; on failure the image is deleted, as Cinder does."""
        async with self._working_on(volume_id):
            token = await self.token()
            self.scratch.mkdir(parents=True, exist_ok=True)
            try:
                with tempfile.TemporaryDirectory(dir=self.scratch) as tmp:
                    path = Path(tmp) / "upload"
                    await self.backend.export_to_file(volume_id, path,
                                                      QEMU_FORMATS.get(disk_format, "raw"))
                    await self.images.upload(token, image_id, path)
            except Exception as exc:  # any failure: the volume is usable again, the image gone
                LOG.warning("uploading volume %s to image %s failed: %s", volume_id, image_id,
                            exc)
                await self.images.delete_image(token, image_id)
            await self.conductor.volume_update(ctx, volume_id, {"status": restore_status},
                                               expected_status=[states.UPLOADING])

    async def initialize_connection(self, ctx: RequestContext, volume_id: str,
                                    connector: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self.backend.connection_info(volume_id, connector)
        except BackendFailed as exc:
            raise BackendError(operation="initialize_connection", host=self.host,
                               reason=str(exc)) from exc

    # -- snapshots -----------------------------------------------------------------------------

    async def create_snapshot(self, ctx: RequestContext, snapshot_id: str, volume_id: str) -> None:
        async with self._working_on(snapshot_id):
            try:
                await self.backend.create_snapshot(snapshot_id, volume_id)
            except (BackendFailed, OSError) as exc:
                await self.backend.delete_snapshot(snapshot_id)
                await self.conductor.snapshot_update(
                    ctx, snapshot_id, {"status": states.ERROR, "error_reason": str(exc)},
                    expected_status=[states.CREATING])
                return
            await self.conductor.snapshot_update(
                ctx, snapshot_id, {"status": states.AVAILABLE, "progress": "100%"},
                expected_status=[states.CREATING])

    async def delete_snapshot(self, ctx: RequestContext, snapshot_id: str) -> None:
        async with self._working_on(snapshot_id):
            await self._delete_snapshot(ctx, snapshot_id)

    async def _delete_snapshot(self, ctx: RequestContext, snapshot_id: str) -> None:
        try:
            await self.backend.delete_snapshot(snapshot_id)
        except (BackendFailed, OSError) as exc:
            await self.conductor.snapshot_update(
                ctx, snapshot_id, {"status": states.ERROR_DELETING, "error_reason": str(exc)},
                expected_status=[states.DELETING])
            return
        await self.conductor.snapshot_deleted(ctx, snapshot_id)
