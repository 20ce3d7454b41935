"""The QEMU driver's pure parts: console reading, boot outcome, command line, config drive."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pycdlib
import pytest

from nimbus.compute.virt.driver import GuestSpec, VifSpec
from nimbus.compute.virt.qemu import cmdline, configdrive, console
from nimbus.compute.virt.qemu.instance import Instance

UUID = "0d9a7c4e-1f2b-4a3c-8d5e-6f7a8b9c0d1e"
TAPPED = VifSpec(port_id="2718509d-013f-48cd-a291-24973f2e0291", mac="fa:16:3e:00:00:01",
                 network_id="net-a", tap="tap2718509d-01", netns="nimbus-abc")
UNTAPPED = VifSpec(port_id="p2", mac="fa:16:3e:00:00:02", network_id="net-b")


def guest(*vifs: VifSpec, user_data: bytes | None = None) -> GuestSpec:
    return GuestSpec(uuid=UUID, name="vm1", vcpus=2, memory_mb=256, root_gb=1,
                     image_path=Path("/images/x"), user_data=user_data,
                     metadata=(("k", "v"),), vifs=vifs)


@pytest.mark.parametrize(("text", "outcome"), [
    ("SeaBIOS (version 1.16)\n", None),
    ("Booting from Hard Disk...\n", None),
    ("Booting from Hard Disk...\nSYSLINUX 6.04\n", True),
    # With -boot strict=on the root disk is the only boot device: a rejection is final.
    ("Booting from Hard Disk...\nBoot failed: not a bootable disk\n\n", False),
    ("Booting from Hard Disk...\nBoot failed: not a bootable disk\n\nNo bootable device.", False),
])
def test_boot_outcome_reads_the_firmware(text: str, outcome: bool | None) -> None:
    assert console.boot_outcome(text) is outcome


def test_console_read_drops_terminal_escapes_and_keeps_the_tail(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS\r\nnimbus-guest login: \r\n")
    assert console.read(log) == "SeaBIOS\nnimbus-guest login: \n"
    assert console.read(log, 7) == "login: \n"[-7:]
    assert console.read(tmp_path / "missing") == ""


def test_command_line_has_a_nic_per_tap_only() -> None:
    argv = cmdline.argv("/usr/bin/qemu", "tcg", "pc", guest(TAPPED, UNTAPPED),
                        Instance(Path("/state/instances") / UUID))
    netdevs = [argv[i + 1] for i, a in enumerate(argv) if a == "-netdev"]
    assert netdevs == ["tap,id=net0,ifname=tap2718509d-01,script=no,downscript=no"]
    assert "virtio-net-pci,netdev=net0,mac=fa:16:3e:00:00:01,id=nic-" + TAPPED.port_id in argv
    assert argv[argv.index("-accel") + 1] == "tcg" and "-cpu" not in argv
    assert argv[argv.index("-m") + 1] == "256" and "-nodefaults" in argv
    assert cmdline.netns_of((TAPPED, UNTAPPED)) == "nimbus-abc"
    assert cmdline.netns_of((UNTAPPED,)) is None


def test_command_line_refuses_taps_in_two_namespaces() -> None:
    other = VifSpec(port_id="p3", mac="fa:16:3e:00:00:03", network_id="n", tap="tap3", netns="x")
    with pytest.raises(ValueError, match="one network namespace"):
        cmdline.netns_of((TAPPED, other))


def test_config_drive_is_labelled_config_2_with_nova_files(tmp_path: Path) -> None:
    iso_path = tmp_path / "config.iso"
    configdrive.write(iso_path, guest(TAPPED, user_data=b"#!/bin/sh\necho hi\n"), (TAPPED,))
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "config-2"

        def read(name: str) -> bytes:
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path=f"/openstack/latest/{name}")
            return out.getvalue()

        meta = json.loads(read("meta_data.json"))
        network = json.loads(read("network_data.json"))
        assert (meta["uuid"], meta["hostname"], meta["meta"]) == (UUID, "vm1", {"k": "v"})
        assert network["links"] == [{"id": "tap2718509d-01", "type": "tap", "mtu": 1500,
                                     "ethernet_mac_address": "fa:16:3e:00:00:01",
                                     "vif_id": TAPPED.port_id}]
        assert network["networks"] == [{"id": "network0", "type": "ipv4_dhcp",
                                        "link": "tap2718509d-01", "network_id": "net-a"}]
        assert read("user_data") == b"#!/bin/sh\necho hi\n"
    finally:
        iso.close()


def test_rescue_command_line_boots_the_rescue_disk_first() -> None:
    argv = cmdline.argv("qemu", "tcg", "pc", guest(), Instance(Path("/s/instances") / UUID))
    rescued = cmdline.rescued(argv, "/s/rescue.qcow2")
    devices = [rescued[i + 1] for i, a in enumerate(rescued) if a == "-device"]
    assert devices == ["virtio-blk-pci,drive=rescue,id=rescue-disk,bootindex=0",
                       "virtio-blk-pci,drive=root,id=root-disk"]
    with pytest.raises(ValueError, match="from an image"):
        cmdline.rescued([a for a in argv if a != cmdline.ROOT_DEVICE], "/s/rescue.qcow2")
