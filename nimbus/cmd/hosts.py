"""Which hypervisor each compute host runs, and the test guest image a QEMU cloud offers.

    drivers = hosts.up_drivers(settings)    # `nimbus up`: QEMU hosts (if wanted) + fake hosts
    driver = hosts.make_driver(settings, "node1", settings.compute.driver)   # `nimbus serve`
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from nimbus.cmd.runtime import RestClients, fake_host_names
from nimbus.compute.virt.driver import VirtDriver
from nimbus.compute.virt.fake import FakeDriver, FakeHostConfig
from nimbus.compute.virt.qemu import QemuConfig, QemuDriver
from nimbus.core.clients.image import ImageNotFound
from nimbus.core.config import Settings
from nimbus.guestimage import build_guest_image
from nimbus.guestimage.build import KERNEL_FILE

LOG = logging.getLogger("nimbus.cmd")

# The test guest's image id is fixed, so a second `nimbus up` finds the one the first made.
GUEST_IMAGE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nimbus:guest-image"))


def _fake(settings: Settings, host: str) -> VirtDriver:
    c = settings.compute
    return FakeDriver(FakeHostConfig(hostname=host, vcpus=c.fake_vcpus, memory_mb=c.fake_memory_mb,
                                     disk_gb=c.fake_disk_gb))


def _qemu(settings: Settings, host: str) -> VirtDriver:
    q = settings.compute.qemu
    return QemuDriver(QemuConfig(hostname=host, state_dir=settings.state_dir / "qemu" / host,
                                 binary=q.binary, accel=q.accel, machine=q.machine,
                                 reserved_host_memory_mb=q.reserved_host_memory_mb,
                                 migration_address=q.migration_address,
                                 # The test guest's kernel, once `nimbus up` has built it.
                                 probe_kernel=_guest_image_dir(settings) / KERNEL_FILE))


def _guest_image_dir(settings: Settings) -> Path:
    return settings.state_dir / "guest-image"


DRIVERS: dict[str, Callable[[Settings, str], VirtDriver]] = {"fake": _fake, "qemu": _qemu}


def make_driver(settings: Settings, host: str, kind: str) -> VirtDriver:
    """The driver of one host; QemuUnavailable when QEMU is asked for and missing."""
    return DRIVERS[kind](settings, host)


def qemu_host_wanted(settings: Settings) -> bool:
    if settings.qemu_host == "auto":
        return shutil.which(settings.compute.qemu.binary) is not None
    return settings.qemu_host == "on"


def qemu_host_names(settings: Settings) -> list[str]:
    """This machine's QEMU hosts: host_name, then <host_name>-2, <host_name>-3, ..."""
    return [settings.host_name, *(f"{settings.host_name}-{i}"
                                  for i in range(2, settings.qemu_hosts + 1))]


def up_drivers(settings: Settings) -> dict[str, VirtDriver]:
    """`nimbus up`'s hosts: first this machine's QEMU hosts (when wanted), then the fake hosts."""
    drivers: dict[str, VirtDriver] = {}
    if qemu_host_wanted(settings):
        for host in qemu_host_names(settings):
            drivers[host] = make_driver(settings, host, "qemu")
    for host in fake_host_names(settings):
        drivers[host] = make_driver(settings, host, "fake")
    return drivers


async def register_guest_image(settings: Settings, clients: RestClients) -> str:
    """The test guest as a public qcow2 image, built once into <state_dir>/guest-image and
    uploaded once; returns its id. Idempotent: an upload cut short is made again."""
    token = await clients.tokens.token()
    try:
        image = await clients.images.get_image(token, GUEST_IMAGE_ID)
        if image.status == "active":
            return GUEST_IMAGE_ID
        await clients.images.delete_image(token, GUEST_IMAGE_ID)
    except ImageNotFound:
        pass
    built = await asyncio.to_thread(build_guest_image, _guest_image_dir(settings))
    LOG.info("test guest image %s in %.1f s", "cached" if built.cached else "built", built.seconds)
    await clients.images.create_image(token, {
        "id": GUEST_IMAGE_ID, "name": settings.compute.qemu.guest_image_name,
        "disk_format": "qcow2", "container_format": "bare", "visibility": "public",
        "min_ram": 96, "os_distro": "debian", "hw_disk_bus": "virtio"})
    await clients.images.upload(token, GUEST_IMAGE_ID, built.disk)
    return GUEST_IMAGE_ID
