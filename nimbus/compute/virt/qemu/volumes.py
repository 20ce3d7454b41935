"""A guest's volumes: on its command line when QEMU starts, hot-plugged while it runs.

volumes.json in the instance directory lists them, so that every start (power on, reboot,
resume, an adopting agent) gives the guest the same disks. Each volume is a block node plus a
virtio-blk-pci device whose serial is the volume id (what /dev/disk/by-id shows, as with Nova).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from nimbus.compute.virt.driver import VolumeConnection
from nimbus.compute.virt.qemu.errors import QemuError
from nimbus.compute.virt.qemu.instance import Instance
from nimbus.compute.virt.qemu.monitor import Monitor

UNPLUG_TIMEOUT = 30.0
FIRST_SLOT, LAST_SLOT = 0x10, 0x1F
MIRROR_TIMEOUT = 600.0


def load(inst: Instance) -> list[VolumeConnection]:
    path = inst.path / "volumes.json"
    if not path.exists():
        return []
    return [VolumeConnection(**{**v, "path": Path(v["path"])}) for v in json.loads(path.read_text())]


def save(inst: Instance, volumes: list[VolumeConnection]) -> None:
    path = inst.path / "volumes.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([{**dataclasses.asdict(v), "path": str(v.path)} for v in volumes]))
    tmp.replace(path)


def node(volume_id: str) -> str:
    # Block node names stop at 31 characters; a hash keeps any two volume ids apart.
    return "v" + hashlib.sha256(volume_id.encode()).hexdigest()[:30]


def device(volume: VolumeConnection) -> str:
    """Named after the device name, which a swap keeps while the volume under it changes."""
    name = Path(volume.device_name).name if volume.device_name else volume.volume_id
    return f"disk-{name}"


def blockdev(volume: VolumeConnection, name: str | None = None) -> dict[str, Any]:
    return {"driver": volume.format, "node-name": name or node(volume.volume_id),
            "read-only": volume.read_only,
            "file": {"driver": "file", "filename": str(volume.path)}}


def pci_slot(volume: VolumeConnection) -> int | None:
    """The PCI slot of the volume's device, fixed by its device name (vda 0x10, vdb 0x11, ...
    vdp 0x1f; QEMU puts the root disk and NICs in the low slots itself): so a QEMU started
    with the guest's volumes, a live migration's destination, has each where the running
    guest has it, whatever order they were plugged and unplugged in. None past vdp."""
    found = re.fullmatch(r"(?:x?v|s|h)d([a-z])", Path(volume.device_name or "").name)
    slot = FIRST_SLOT + ord(found.group(1)) - ord("a") if found else None
    return slot if slot is not None and slot <= LAST_SLOT else None


def device_args(volume: VolumeConnection) -> dict[str, Any]:
    args: dict[str, Any] = {"driver": "virtio-blk-pci", "id": device(volume),
                            "drive": node(volume.volume_id), "serial": volume.volume_id[:20]}
    if volume.boot_index is not None:
        args["bootindex"] = volume.boot_index
    if (slot := pci_slot(volume)) is not None:
        args["addr"] = f"{slot:#x}"
    return args


def argv(volumes: list[VolumeConnection]) -> list[str]:
    cmd: list[str] = []
    for volume in volumes:
        cmd += ["-blockdev", json.dumps(blockdev(volume)),
                "-device", json.dumps(device_args(volume))]
    return cmd


async def plug(qmp: Monitor, volume: VolumeConnection) -> None:
    await qmp.execute("blockdev-add", blockdev(volume))
    try:
        await qmp.execute("device_add", device_args(volume))
    except QemuError:
        await qmp.execute("blockdev-del", {"node-name": node(volume.volume_id)})
        raise


async def unplug(qmp: Monitor, volume: VolumeConnection) -> None:
    """device_del, then wait for the guest to let go (ACPI eject) before the node goes."""
    volume_id = volume.volume_id
    with qmp.client.listener("DEVICE_DELETED") as events:
        await qmp.execute("device_del", {"id": device(volume)})
        deadline = asyncio.get_running_loop().time() + UNPLUG_TIMEOUT
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                event = await asyncio.wait_for(events.get(), max(left, 0.01))
            except TimeoutError:
                raise QemuError(f"the guest did not release volume {volume_id} within "
                                f"{UNPLUG_TIMEOUT:.0f} s") from None
            data: Any = event["data"]
            if data.get("device") == device(volume):
                break
    await qmp.execute("blockdev-del", {"node-name": node(volume_id)})


async def mirror(qmp: Monitor, old: VolumeConnection, new: VolumeConnection) -> None:
    """Copy the running guest's `old` volume onto `new` and switch its device over."""
    target = node(new.volume_id)
    await qmp.execute("blockdev-add", blockdev(new, target))
    job = f"swap-{target}"
    try:
        with qmp.client.listener(("BLOCK_JOB_READY", "BLOCK_JOB_ERROR")) as events:
            await qmp.execute("blockdev-mirror", {"job-id": job, "device": node(old.volume_id),
                                                  "target": target, "sync": "full"})
            event = await asyncio.wait_for(events.get(), MIRROR_TIMEOUT)
            if event["event"] != "BLOCK_JOB_READY":
                raise QemuError(f"copying volume {old.volume_id} failed: {event['data']}")
        with qmp.client.listener("BLOCK_JOB_COMPLETED") as done:
            await qmp.execute("job-complete", {"id": job})
            finished = await asyncio.wait_for(done.get(), MIRROR_TIMEOUT)
        outcome: Any = finished["data"]
        if outcome.get("error"):
            raise QemuError(f"switching to volume {new.volume_id} failed: {outcome['error']}")
    except BaseException:
        await qmp.execute("blockdev-del", {"node-name": target})
        raise
    await qmp.execute("blockdev-del", {"node-name": node(old.volume_id)})
