"""A machine image (AMI) names its kernel (AKI) and ramdisk (ARI) images: the host fetches all
three through the image API into its cache and hands the driver the kernel, the ramdisk and
the image's command line (Nova's libvirt default when it has none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nimbus.compute.image_cache import DEFAULT_KERNEL_CMDLINE
from nimbus.compute.virt.fake import FakeDriver
from tests.dbs import backends
from tests.functional.compute.helpers import IMAGE_DATA, boot, upload_image, wait_for
from tests.functional.conftest import Cloud, running_cloud


@pytest.fixture(params=backends())
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cloud]:
    async with running_cloud(request.param, tmp_path, fake_hosts=1) as running:
        yield running


async def guest_of(cloud: Cloud, server_id: str) -> FakeDriver:
    [(agent, _)] = cloud.compute.agents.values()
    assert isinstance(agent.driver, FakeDriver) and server_id in agent.driver.guests
    return agent.driver


@pytest.mark.parametrize("command_line", [None, "console=ttyS0 quiet"])
async def test_machine_image_boots_from_its_kernel_and_ramdisk(cloud: Cloud,
                                                               command_line: str | None) -> None:
    admin = await cloud.admin_headers()
    kernel = await upload_image(cloud, admin, name="vmlinuz", disk_format="aki",
                                container_format="aki")
    ramdisk = await upload_image(cloud, admin, name="initrd", disk_format="ari",
                                 container_format="ari")
    extra = {"os_command_line": command_line} if command_line else {}
    machine = await upload_image(cloud, admin, name="machine", disk_format="ami",
                                 container_format="ami", kernel_id=kernel, ramdisk_id=ramdisk,
                                 **extra)
    server = await wait_for(cloud, admin, await boot(cloud, admin, machine), "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE", server

    spec = (await guest_of(cloud, server["id"])).guests[server["id"]].spec
    assert spec.image_format == "ami"
    assert spec.kernel_path is not None and spec.kernel_path.name == kernel
    assert spec.ramdisk_path is not None and spec.ramdisk_path.name == ramdisk
    assert spec.kernel_path.read_bytes() == IMAGE_DATA  # fetched, checksum verified
    assert spec.kernel_cmdline == (command_line or DEFAULT_KERNEL_CMDLINE)


async def test_a_disk_image_boots_its_own_boot_loader(cloud: Cloud) -> None:
    admin = await cloud.admin_headers()
    server = await wait_for(cloud, admin, await boot(cloud, admin, await upload_image(cloud, admin)),
                            "ACTIVE", "ERROR")
    assert server is not None and server["status"] == "ACTIVE", server
    spec = (await guest_of(cloud, server["id"])).guests[server["id"]].spec
    assert (spec.kernel_path, spec.ramdisk_path, spec.kernel_cmdline) == (None, None, "")
