"""Volumes through the real `openstack` CLI against `make up`: blank, snapshot, from an image
(bootable), delete; the state directory keeps no file of them afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, RunningCloud
from tests.e2e.helpers import unique, volume_files, wait_gone, wait_status

pytestmark = pytest.mark.e2e

def test_volume_lifecycle_through_the_cli(nimbus: RunningCloud, admin_cli: Cli,
                                          tmp_path: Path) -> None:
    blank, snap, boot, image = (unique(p) for p in ("v", "snap", "bv", "img"))
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    admin_cli.run("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", str(disk), image)

    created = admin_cli.json("volume", "create", "--size", "1", blank)
    assert created["size"] == 1
    volume = wait_status(admin_cli, ["volume"], blank, "available", "error")
    assert volume["status"] == "available"

    admin_cli.run("volume", "snapshot", "create", "--volume", blank, snap)
    assert wait_status(admin_cli, ["volume", "snapshot"], snap, "available",
                       "error")["status"] == "available"

    admin_cli.run("volume", "create", "--image", image, "--bootable", "--size", "1", boot)
    bootable = wait_status(admin_cli, ["volume"], boot, "available", "error")
    assert bootable["status"] == "available" and bootable["bootable"] in (True, "true")
    assert bootable["volume_image_metadata"]["image_name"] == image
    assert len(volume_files(nimbus)) == 3

    refused = admin_cli.run("volume", "delete", blank, check=False)
    assert refused.returncode != 0 and "snapshots" in refused.stderr
    admin_cli.run("volume", "snapshot", "delete", snap)
    wait_gone(admin_cli, ["volume", "snapshot"], snap)
    admin_cli.run("volume", "delete", blank, boot)
    for name in (blank, boot):
        wait_gone(admin_cli, ["volume"], name)
    assert volume_files(nimbus) == []
