"""A server's volumes, as its agent connects them: Cinder's attachments API from the host side.

    volumes = Volumes(volume_client, service_token)
    info, connection = await volumes.connect(host, device)   # attachment updated: connection_info
    await driver.attach_volume(uuid, connection)
    await volumes.complete(device)                           # the volume is in-use
    await volumes.release(devices)                           # attachments gone, some volumes too

The API reserved each volume (an attachment without a connector) and wrote the server's block
device mapping; the agent gives the host's connector, hands the driver the volume's local file,
and completes. When the server moves, the hosts hand its volumes on (the end of this module).
The agent works as the service user, which may act on any project's volumes.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nimbus.compute import errors
from nimbus.compute.objects import BlockDevice
from nimbus.compute.virt.driver import SupportsVolumes, VirtDriver, VolumeConnection
from nimbus.core.clients.volume import VolumeClient
from nimbus.core.context import RequestContext

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)

# How long a build waits for the volume service to write a volume from an image.
IMAGE_VOLUME_TIMEOUT = 600.0


class Volumes:
    def __init__(self, client: VolumeClient, token: Callable[[], Awaitable[str]]) -> None:
        self.client = client
        self.token = token

    async def reserve_when_available(self, instance_uuid: str, device: BlockDevice, *,
                                     timeout: float) -> BlockDevice:
        """For a volume made from an image at create: wait until the volume service has
        written it, then reserve it for the server; the device with its attachment."""
        token = await self.token()
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            volume = await self.client.get_volume(token, device.project_id, device.volume_id)
            if volume["status"] == "available":
                break
            if volume["status"] != "creating" or time.monotonic() > deadline:
                raise errors.InvalidVolume(reason=f"volume {device.volume_id} made from an "
                                                  f"image is {volume['status']}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        return await self.reserve(instance_uuid, device)

    async def reserve(self, instance_uuid: str, device: BlockDevice) -> BlockDevice:
        """A new attachment of the volume to the server, without a connector; the device with
        it. The server may already hold one (it moves between hosts)."""
        attachment = await self.client.create_attachment(await self.token(), device.project_id,
                                                         device.volume_id, instance_uuid)
        return device.model_copy(update={"attachment_id": attachment["id"]})

    async def attachment_at(self, instance_uuid: str, device: BlockDevice,
                            host: str) -> str | None:
        """The id of the server's attachment of the volume connected to `host`, if any."""
        volume = await self.client.get_volume(await self.token(), device.project_id,
                                              device.volume_id)
        for attachment in volume.get("attachments") or []:
            if attachment.get("server_id") == instance_uuid and attachment.get(
                    "host_name") == host:
                return str(attachment["attachment_id"])
        return None

    async def connect(self, host: str,
                      device: BlockDevice) -> tuple[dict[str, Any], VolumeConnection]:
        """The attachment connected for this host: its connection_info, and the volume as the
        driver takes it."""
        assert device.attachment_id is not None, "a volume is reserved before it is connected"
        connector = {"host": host, "platform": platform.machine(), "os_type": "linux",
                     "multipath": False, "mountpoint": device.device_name}
        attachment = await self.client.update_attachment(
            await self.token(), device.project_id, device.attachment_id, connector)
        info: dict[str, Any] = attachment.get("connection_info") or {}
        data = info.get("data") or {}
        if info.get("driver_volume_type") != "file" or "device_path" not in data:
            raise errors.InvalidVolume(reason=f"volume {device.volume_id} is not reachable "
                                              "from this host as a local file")
        return info, VolumeConnection(volume_id=device.volume_id, path=Path(data["device_path"]),
                                      format=str(data.get("format") or "raw"),
                                      device_name=device.device_name,
                                      read_only=data.get("access_mode") == "ro",
                                      boot_index=device.boot_index)

    async def complete(self, device: BlockDevice) -> None:
        assert device.attachment_id is not None, "a volume is reserved before it is completed"
        await self.client.complete_attachment(await self.token(), device.project_id,
                                              device.attachment_id)

    async def release(self, devices: list[BlockDevice], *, deleting: bool) -> None:
        """Delete the attachments, and with `deleting` (the server goes) the volumes marked
        delete_on_termination; best effort per volume, so one failure does not keep the rest."""
        token = await self.token()
        for device in devices:
            try:
                if device.attachment_id is not None:
                    await self.client.delete_attachment(token, device.project_id,
                                                        device.attachment_id)
                if deleting and device.delete_on_termination:
                    await self.client.delete_volume(token, device.project_id, device.volume_id)
            except Exception as exc:  # reported, and the next volume is still released
                LOG.warning("could not release volume %s: %s", device.volume_id, exc)


def _hot_plug(driver: VirtDriver) -> SupportsVolumes:
    if not isinstance(driver, SupportsVolumes):
        raise errors.FeatureNotSupported()
    return driver


async def attach_volume(agent: ComputeAgent, ctx: RequestContext, uuid: str,
                        device: BlockDevice) -> dict[str, Any]:
    """Connect, hot-plug and complete; on failure the guest is as before and the caller (the
    API) deletes the attachment. The connection_info the volume service gave."""
    driver = _hot_plug(agent.driver)
    info, connection = await agent.volumes.connect(agent.host, device)
    await driver.attach_volume(uuid, connection)
    try:
        await agent.volumes.complete(device)
    except Exception:
        await driver.detach_volume(uuid, device.volume_id)
        raise
    return info


async def detach_volume(agent: ComputeAgent, ctx: RequestContext, uuid: str,
                        device: BlockDevice) -> None:
    """Unplug, then delete the attachment: the volume is available again."""
    await _hot_plug(agent.driver).detach_volume(uuid, device.volume_id)
    await agent.volumes.release([device], deleting=False)


async def connect_all(agent: ComputeAgent, ctx: RequestContext, uuid: str,
                      devices: list[BlockDevice]) -> tuple[VolumeConnection, ...]:
    """At build: every volume the server boots with, reserved (the ones made from an image,
    recorded through the conductor), connected and completed."""
    connections = []
    for device in devices:
        if device.attachment_id is None:
            device = await agent.volumes.reserve_when_available(uuid, device,
                                                                timeout=IMAGE_VOLUME_TIMEOUT)
            await agent.conductor.block_device_reserved(ctx, uuid, device.volume_id,
                                                        device.attachment_id or "")
        _, connection = await agent.volumes.connect(agent.host, device)
        await agent.volumes.complete(device)
        connections.append(connection)
    return tuple(connections)


async def swap_volume(agent: ComputeAgent, ctx: RequestContext, uuid: str, old: BlockDevice,
                      new: BlockDevice) -> dict[str, Any]:
    """Connect the new volume, have the driver move the guest onto it, complete it and let the
    old one go; on failure the guest keeps the old volume and the caller unreserves the new.
    The new volume's connection_info."""
    driver = _hot_plug(agent.driver)
    info, connection = await agent.volumes.connect(agent.host, new)
    await driver.swap_volume(uuid, old.volume_id, connection)
    await agent.volumes.complete(new)
    await agent.volumes.release([old], deleting=False)
    return info


# -- a server that moves between hosts keeps its volumes ------------------------------------
#
# Cinder cannot take a connector back from an attachment: a host lets go of a volume by
# replacing the server's attachment with a bare reservation, which the next host connects
# (Nova's _terminate_volume_connections, then _update_volume_attachments). The server's block
# device mapping always names the attachment in use, so it is recorded before the old one goes.


async def _attached(agent: ComputeAgent, ctx: RequestContext, uuid: str) -> list[BlockDevice]:
    return [d for d in await agent.conductor.block_devices(ctx, uuid)
            if d.attachment_id is not None]


async def reconnect_all(agent: ComputeAgent, ctx: RequestContext,
                        uuid: str) -> tuple[VolumeConnection, ...]:
    """The server's attached volumes connected to this host and completed, for its guest
    created or arriving here: they stay attached through a rebuild, a shelve or a move."""
    connections = []
    for device in await _attached(agent, ctx, uuid):
        connections.append((await agent.volumes.connect(agent.host, device))[1])
        await agent.volumes.complete(device)
    return tuple(connections)


async def disconnect_all(agent: ComputeAgent, ctx: RequestContext, uuid: str) -> None:
    """This host lets go of the server's volumes (its guest left, or is kept stopped for a
    revert): each attachment becomes a bare reservation, so the volumes stay the server's."""
    for device in await _attached(agent, ctx, uuid):
        reserved = await agent.volumes.reserve(uuid, device)
        await agent.conductor.block_device_reserved(ctx, uuid, device.volume_id,
                                                    reserved.attachment_id or "")
        await agent.volumes.release([device], deleting=False)


async def connect_incoming(agent: ComputeAgent, ctx: RequestContext,
                           uuid: str) -> tuple[VolumeConnection, ...]:
    """Live migration, destination: a second attachment of each volume, connected to this
    host while the source still runs the guest on its own; on failure none is left."""
    made: list[BlockDevice] = []
    connections = []
    try:
        for device in await _attached(agent, ctx, uuid):
            made.append(await agent.volumes.reserve(uuid, device))
            connections.append((await agent.volumes.connect(agent.host, made[-1]))[1])
            await agent.volumes.complete(made[-1])
    except Exception:
        await agent.volumes.release(made, deleting=False)
        raise
    return tuple(connections)


async def hand_over(agent: ComputeAgent, ctx: RequestContext, uuid: str, dest: str) -> None:
    """Live migration, source, once the guest runs at `dest`: the server's mappings take the
    destination's attachments and this host's are deleted."""
    for device in await _attached(agent, ctx, uuid):
        theirs = await agent.volumes.attachment_at(uuid, device, dest)
        if theirs is None:  # never connected there: keep the one the guest had
            LOG.warning("volume %s of %s has no attachment at %s", device.volume_id, uuid, dest)
            continue
        await agent.conductor.block_device_reserved(ctx, uuid, device.volume_id, theirs)
        await agent.volumes.release([device], deleting=False)


async def drop_incoming(agent: ComputeAgent, ctx: RequestContext, uuid: str) -> None:
    """Live migration rolled back, destination: the attachments made here go; the source
    keeps its own."""
    for device in await _attached(agent, ctx, uuid):
        mine = await agent.volumes.attachment_at(uuid, device, agent.host)
        if mine is not None and mine != device.attachment_id:
            await agent.volumes.release([device.model_copy(update={"attachment_id": mine})],
                                        deleting=False)
