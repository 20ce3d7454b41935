"""The config drive: an ISO 9660 image labelled config-2, as Nova writes it.

    openstack/latest/meta_data.json     uuid, name, hostname, meta, availability_zone
    openstack/latest/network_data.json  links and networks of the guest's NICs
    openstack/latest/user_data          when the server has user data

The same files go under openstack/2012-08-10 too, the oldest version cloud-init looks for.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pycdlib

from nimbus.compute.virt.driver import GuestSpec, VifSpec

VERSIONS = ("latest", "2012-08-10")


def meta_data(guest: GuestSpec) -> dict[str, Any]:
    return {"uuid": guest.uuid, "name": guest.name, "hostname": guest.name,
            "launch_index": 0, "meta": dict(guest.metadata), "public_keys": {}}


def network_data(vifs: tuple[VifSpec, ...]) -> dict[str, Any]:
    """Nova's network_data.json for the NICs the guest really has; addresses come by DHCP."""
    links = [{"id": vif.tap or f"tap{vif.port_id[:11]}", "type": "tap",
              "ethernet_mac_address": vif.mac, "mtu": vif.mtu, "vif_id": vif.port_id}
             for vif in vifs]
    networks = [{"id": f"network{i}", "type": "ipv4_dhcp", "link": link["id"],
                 "network_id": vif.network_id}
                for i, (vif, link) in enumerate(zip(vifs, links, strict=True))]
    return {"links": links, "networks": networks, "services": []}


def write(path: Path, guest: GuestSpec, vifs: tuple[VifSpec, ...]) -> None:
    files: dict[str, bytes] = {
        "meta_data.json": json.dumps(meta_data(guest)).encode(),
        "network_data.json": json.dumps(network_data(vifs)).encode(),
    }
    if guest.user_data is not None:
        files["user_data"] = guest.user_data
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident="config-2", joliet=3, rock_ridge="1.09")
    iso.add_directory("/OPENSTAC", rr_name="openstack", joliet_path="/openstack")
    for n, version in enumerate(VERSIONS):
        directory = f"/OPENSTAC/V{n}"
        iso.add_directory(directory, rr_name=version, joliet_path=f"/openstack/{version}")
        for i, (name, data) in enumerate(sorted(files.items())):
            iso.add_fp(io.BytesIO(data), len(data), f"{directory}/F{i};1", rr_name=name,
                       joliet_path=f"/openstack/{version}/{name}")
    try:
        iso.write(str(path))
    finally:
        iso.close()
