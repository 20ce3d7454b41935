"""Servers with volumes through the real `openstack` CLI against `make up`: attach and detach a
volume, boot from a bootable volume and from a volume made from an image, delete everything;
the volume backend keeps no file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, RunningCloud
from tests.e2e.helpers import unique, volume_files, wait_gone, wait_status

pytestmark = pytest.mark.e2e


def test_volumes_on_servers_through_the_cli(nimbus: RunningCloud, admin_cli: Cli,
                                            tmp_path: Path) -> None:
    data, snap, boot, image, vm, bfv, bfi = (unique(p) for p in ("v", "snap", "bv", "img",
                                                                 "vm", "bfv", "bfi"))
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    admin_cli.run("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", str(disk), image)
    admin_cli.run("volume", "create", "--size", "1", data)
    assert wait_status(admin_cli, ["volume"], data, "available", "error")["status"] == "available"
    admin_cli.run("volume", "snapshot", "create", "--volume", data, snap)
    assert wait_status(admin_cli, ["volume", "snapshot"], snap, "available",
                       "error")["status"] == "available"

    server = admin_cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                            "--nic", "none", "--wait", vm)
    assert server["status"] == "ACTIVE"
    admin_cli.run("server", "add", "volume", vm, data)
    attached = wait_status(admin_cli, ["volume"], data, "in-use", "error")
    assert [a["server_id"] for a in attached["attachments"]] == [server["id"]]
    shown = admin_cli.json("server", "show", vm)
    assert attached["id"] in str(shown["volumes_attached"])
    refused = admin_cli.run("volume", "delete", data, check=False)
    assert refused.returncode != 0
    admin_cli.run("server", "remove", "volume", vm, data)
    assert wait_status(admin_cli, ["volume"], data, "available", "error")["attachments"] == []

    admin_cli.run("volume", "create", "--image", image, "--bootable", "--size", "1", boot)
    assert wait_status(admin_cli, ["volume"], boot, "available", "error")["status"] == "available"
    booted = admin_cli.json("server", "create", "--flavor", "m1.tiny", "--volume", boot,
                            "--nic", "none", "--wait", bfv)
    assert booted["status"] == "ACTIVE"
    assert admin_cli.json("server", "show", bfv)["image"] == "N/A (booted from volume)"
    assert wait_status(admin_cli, ["volume"], boot, "in-use", "error")["status"] == "in-use"

    from_image = admin_cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                                "--boot-from-volume", "1", "--nic", "none", "--wait", bfi)
    assert from_image["status"] == "ACTIVE"
    [made] = admin_cli.json("server", "show", bfi)["volumes_attached"]

    admin_cli.run("server", "delete", "--wait", vm, bfv, bfi)
    assert wait_status(admin_cli, ["volume"], boot, "available", "error")["attachments"] == []
    assert wait_status(admin_cli, ["volume"], made["id"], "available", "error")["bootable"] in (
        True, "true")
    admin_cli.run("volume", "delete", made["id"])
    wait_gone(admin_cli, ["volume"], made["id"])
    admin_cli.run("volume", "snapshot", "delete", snap)
    wait_gone(admin_cli, ["volume", "snapshot"], snap)
    admin_cli.run("volume", "delete", data, boot)
    for name in (data, boot):
        wait_gone(admin_cli, ["volume"], name)
    assert volume_files(nimbus) == []
