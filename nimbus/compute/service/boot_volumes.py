"""`block_device_mapping_v2` at server create: the volumes a server boots with.

    wanted = parse(server.block_device_mapping_v2, server.imageRef, max_count)
    image = await check(deps, ctx, wanted)   # the root volume's image metadata, if it boots
    rows = await reserve(deps, ctx, project_id, uuid, wanted)   # attachments + BDM rows

Supported: existing volumes (source_type and destination_type `volume`), one of them the root
disk (boot_index 0) when there is no imageRef, and an image as the local root disk (the same
as imageRef). Each volume is reserved (a Cinder attachment) before the build is handed to the
conductor; the agent connects it at `block_device_mapping`.
"""

from __future__ import annotations

import dataclasses
import logging

from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import BlockDeviceMappingRow
from nimbus.compute.schemas import BlockDeviceMapping
from nimbus.compute.service import block_devices
from nimbus.core import errors as core_errors
from nimbus.core.clients.image import Image, ImageNotFound
from nimbus.core.clients.volume import VolumeResourceNotFound
from nimbus.core.context import RequestContext

LOG = logging.getLogger(__name__)

_INVALID = "Block Device Mapping is Invalid: "
_GIB = 1 << 30


@dataclasses.dataclass(frozen=True)
class WantedVolume:
    volume_id: str
    boot_index: int | None
    delete_on_termination: bool
    device_name: str | None
    tag: str | None
    # Source image, destination volume: the API has the volume made (volume_id "" until then).
    image_id: str | None = None
    size: int | None = None


@dataclasses.dataclass(frozen=True)
class Wanted:
    volumes: list[WantedVolume]
    # An image named in the mapping as the local root disk (source image, destination local).
    image_ref: str | None = None

    @property
    def root(self) -> WantedVolume | None:
        return next((v for v in self.volumes if v.boot_index == 0), None)


def _boot_index(value: int | str | None) -> int | None:
    if value is None:
        return None
    try:
        index = int(value)
    except ValueError:
        raise core_errors.BadRequest(f"{_INVALID}boot_index {value!r} is not an integer.") \
            from None
    return index if index >= 0 else None


def _image_id(ref: str) -> str:
    return ref.rstrip("/").rsplit("/", 1)[-1]


def parse(mappings: list[BlockDeviceMapping] | None, image_ref: str | None,
          max_count: int) -> Wanted:
    """The request's mappings checked for what is supported; 400 for the rest."""
    volumes: list[WantedVolume] = []
    image_root: str | None = None
    for bdm in mappings or []:
        index = _boot_index(bdm.boot_index)
        source, dest = bdm.source_type or "", bdm.destination_type or "local"
        if source == "image" and dest == "local" and index == 0 and bdm.uuid:
            image_root = bdm.uuid
        elif source == "image" and dest == "volume":
            if not bdm.uuid:
                raise core_errors.BadRequest(f"{_INVALID}an image mapping needs the image's "
                                             "uuid.")
            volumes.append(WantedVolume("", index, bdm.delete_on_termination, bdm.device_name,
                                        bdm.tag, image_id=_image_id(bdm.uuid),
                                        size=bdm.volume_size))
        elif source == "volume" and dest == "volume":
            if not bdm.uuid:
                raise core_errors.BadRequest(f"{_INVALID}a volume mapping needs the volume's "
                                             "uuid.")
            if any(v.volume_id == bdm.uuid for v in volumes):
                raise core_errors.BadRequest(f"{_INVALID}volume {bdm.uuid} is mapped twice.")
            volumes.append(WantedVolume(bdm.uuid, index, bdm.delete_on_termination,
                                        bdm.device_name, bdm.tag))
        else:
            raise core_errors.BadRequest(
                f"{_INVALID}source_type {source or None!r} with destination_type {dest!r} is "
                "not supported: boot from an image, a volume made from an image, or an "
                "existing volume.")
    # The CLI names its image twice, as imageRef and as the root mapping: one boot source.
    boots = [*(v.volume_id or v.image_id for v in volumes if v.boot_index == 0),
             *{_image_id(r) for r in (image_root, image_ref) if r}]
    if len(boots) != 1:
        raise core_errors.BadRequest(f"{_INVALID}Boot sequence for the instance and "
                                     "image/block device mapping combination is not valid.")
    if volumes and max_count > 1:
        raise core_errors.BadRequest(f"{_INVALID}a volume can be given to one server only, "
                                     "not to each server of a multiple create.")
    return Wanted(volumes, image_root)


async def _from_image(deps: ComputeDeps, ctx: RequestContext,
                      volume: WantedVolume) -> tuple[Image, WantedVolume]:
    """The image a volume is to be made from, and the volume with its size decided: the one
    asked for, else what the image needs."""
    assert volume.image_id is not None
    try:
        image = await deps.images.get_image(ctx.auth_token or "", volume.image_id)
    except ImageNotFound:
        raise core_errors.BadRequest(f"Image {volume.image_id} could not be found.") from None
    if image.status != "active":
        raise core_errors.BadRequest(f"Image {volume.image_id} is not active.")
    needed = max(1, image.min_disk, -(-(image.size or 0) // _GIB))
    if volume.size is not None and volume.size < needed:
        raise core_errors.BadRequest(f"{_INVALID}volume_size {volume.size} GiB is smaller than "
                                     f"image {image.id} needs ({needed} GiB).")
    return dataclasses.replace(image, id=""), dataclasses.replace(volume,
                                                                 size=volume.size or needed)


async def check(deps: ComputeDeps, ctx: RequestContext,
                wanted: Wanted) -> tuple[Image | None, Wanted]:
    """Every volume checked (it exists and is available, or its image is active); for a
    server that boots from a volume, its image metadata as the image the server was made from
    (Nova's image meta, with no image id: the server shows none). The request with the sizes
    of the volumes to make decided."""
    root: Image | None = None
    decided = []
    for volume in wanted.volumes:
        if volume.image_id is not None:
            image, volume = await _from_image(deps, ctx, volume)
            decided.append(volume)
            root = image if volume.boot_index == 0 else root
            continue
        decided.append(volume)
        try:
            found = await deps.volumes.get_volume(ctx.auth_token or "", ctx.project_id or "",
                                                  volume.volume_id)
        except VolumeResourceNotFound:
            raise core_errors.BadRequest(f"{_INVALID}failed to get volume "
                                         f"{volume.volume_id}.") from None
        if found.get("status") != "available" and not found.get("multiattach"):
            raise core_errors.BadRequest(
                f"Invalid volume: volume '{volume.volume_id}' status must be 'available'. "
                f"Currently in '{found.get('status')}'")
        if volume.boot_index == 0:
            meta = found.get("volume_image_metadata") or {}
            root = Image(id="", name=None, status="active", disk_format=meta.get("disk_format"),
                         container_format=meta.get("container_format"), size=None,
                         min_disk=0, min_ram=int(meta.get("min_ram") or 0), checksum=None,
                         properties={k: v for k, v in meta.items()
                                     if k not in ("image_id", "image_name", "size", "checksum",
                                                  "disk_format", "container_format",
                                                  "min_disk", "min_ram")})
    return root, dataclasses.replace(wanted, volumes=decided)


def _device(volume: WantedVolume, names: list[str]) -> str:
    if volume.boot_index == 0:
        return "/dev/vda"
    if volume.device_name and volume.device_name not in names:
        return volume.device_name
    return block_devices.next_device_name(names)


async def _volume_from_image(deps: ComputeDeps, token: str, project_id: str,
                             volume: WantedVolume) -> str:
    try:
        made = await deps.volumes.create_volume(token, project_id, {
            "size": volume.size, "imageRef": volume.image_id, "name": ""})
    except core_errors.NimbusError as exc:
        if exc.status >= 500:
            raise
        # Quota, a type or an image the volume service refuses: the request's fault.
        raise core_errors.BadRequest(f"{_INVALID}the volume from image {volume.image_id} was "
                                     f"refused: {exc.message}") from None
    return str(made["id"])


async def reserve(deps: ComputeDeps, ctx: RequestContext, project_id: str, instance_uuid: str,
                  wanted: Wanted) -> None:
    """An attachment per existing volume, a volume made for each image mapping (the agent
    reserves it when it is written), and the server's mapping rows. Existing volumes are
    reserved first: a failure there takes back the attachments made and nothing else is left.
    """
    token = ctx.auth_token or ""
    made: list[BlockDeviceMappingRow] = []
    names = ["/dev/vda"] if wanted.root is None else []
    try:
        for volume in sorted(wanted.volumes, key=lambda v: v.image_id is not None):
            attachment_id: str | None = None
            if volume.image_id is not None:
                volume_id = await _volume_from_image(deps, token, project_id, volume)
            else:
                volume_id = volume.volume_id
                try:
                    attachment = await deps.volumes.create_attachment(token, project_id,
                                                                      volume_id, instance_uuid)
                except VolumeResourceNotFound:
                    raise core_errors.BadRequest(f"{_INVALID}failed to get volume "
                                                 f"{volume_id}.") from None
                attachment_id = attachment["id"]
            device = _device(volume, names)
            names.append(device)
            made.append(BlockDeviceMappingRow(
                instance_uuid=instance_uuid, volume_id=volume_id, attachment_id=attachment_id,
                device_name=device, boot_index=volume.boot_index,
                source_type="image" if volume.image_id else "volume",
                delete_on_termination=volume.delete_on_termination, tag=volume.tag))
        async with deps.write() as session:
            session.add_all(made)
    except BaseException:
        await block_devices.release(deps.volumes, token, project_id, made, deleting=False)
        if any(m.source_type == "image" for m in made):
            # Still being written, so the volume service would refuse its delete now.
            LOG.warning("volumes made from images for %s are left: %s", instance_uuid,
                        [m.volume_id for m in made if m.source_type == "image"])
        raise
