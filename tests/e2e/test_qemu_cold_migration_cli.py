"""A real guest resized and cold-migrated between two QEMU hosts of one cloud with the real CLI
(issue 8 on QEMU): `make up` with NIMBUS_QEMU_HOSTS=2 and its network agent; `openstack server
resize --flavor` to a bigger flavor and `server resize confirm`, then `server migrate --host`
back and `server resize revert`. After each move the guest boots again where it went (that
host's console log gains a login marker), with the flavor's vCPUs and RAM, its disk's data,
its DHCP address and ping; the host it left keeps nothing (QEMU, disk export, tap)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nimbus.dataplane import names
from nimbus.guestimage import LOGIN_MARKER
from tests.e2e.conftest import RunningCloud, qemu_cloud, qemu_pids
from tests.e2e.qemu_helpers import (
    QEMU_DATAPLANE_MARKS,
    Guest,
    Hosts,
    links,
    pings,
    two_hosts_and_network,
    wait_until,
)

pytestmark = QEMU_DATAPLANE_MARKS

# The guest writes this into its root disk once, at first boot (user data runs at every boot:
# it only writes when the disk has no mark yet), so seeing it after a move shows the disk moved.
USER_DATA = """#!/bin/sh
if ! dd if=/dev/vda bs=1M skip=900 count=1 2>/dev/null | grep -q NIMBUS-COLD-MARK; then
  printf NIMBUS-COLD-MARK | dd of=/dev/vda bs=1M seek=900 conv=notrunc 2>/dev/null && sync
  echo "cold mark written"
else
  echo "cold mark found"
fi
"""


@pytest.fixture
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with qemu_cloud(tmp_path_factory.mktemp("e2e-cold") / "state",
                    NIMBUS_QEMU_HOSTS="2") as running:
        yield running


def qemu_argv(cloud: RunningCloud) -> list[str]:
    [pid] = qemu_pids(cloud.state_dir)
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_resize_and_cold_migration_between_two_qemu_hosts(cloud: RunningCloud,
                                                          tmp_path: Path) -> None:
    cli, (source, dest), net_name, net = two_hosts_and_network(cloud, "cold", "10.124.0.0/24")
    cli.json("flavor", "create", "--vcpus", "2", "--ram", "640", "--disk", "2", "e2e-cold-2")
    user_data = tmp_path / "user-data.sh"
    user_data.write_text(USER_DATA)
    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--network", net_name, "--user-data", str(user_data),
                      "--availability-zone", f"nova:{source}", "--wait", "e2e-cold-vm")
    assert server["status"] == "ACTIVE", server
    guest, hosts = Guest(cli, server["id"]), Hosts(cloud, server["id"])
    [port] = cli.json("port", "list", "--server", guest.id)
    address = port["Fixed IP Addresses"][0]["ip_address"]
    qdhcp = names.dhcp_namespace(net)
    [group] = cli.json("port", "show", port["ID"])["security_group_ids"]
    cli.run("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", group)
    guest.wait_console(LOGIN_MARKER)
    assert "cold mark written" in hosts.console(source), hosts.console(source)[-3000:]
    wait_until("ping on the first host", lambda: pings(qdhcp, address), 60)

    def port_taps() -> list[str]:
        return [t for t in links(names.host_namespace(cloud.state_dir))
                if t.startswith(names.port_taps(port["ID"]))]

    def boots_on(host: str, before: int) -> None:
        """The guest booted again on `host`: a new login marker there, its disk's mark, its
        DHCP address, and it answers ping."""
        wait_until(f"a boot on {host}", lambda: hosts.boots(host) > before)
        last_boot = hosts.console(host).split(LOGIN_MARKER)[-2]
        assert "cold mark found" in last_boot, last_boot
        assert f"nimbus-guest: address eth0 {address}/24" in last_boot, last_boot
        assert names.guest_tap(port["ID"], host) in port_taps()
        wait_until(f"ping on {host}", lambda: pings(qdhcp, address), 60)

    def only_tap_of(host: str) -> None:
        wait_until(f"only {host}'s tap", lambda: port_taps() == [names.guest_tap(port["ID"], host)],
                   60)

    def on(host: str, status: str, flavor: str) -> None:
        shown = cli.json("server", "show", guest.id)
        assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"], shown["flavor"]["name"]) == (
            status, host, flavor), shown

    # Resize to a bigger flavor: the other host (no resize to the same host here), 2 vCPUs.
    cli.run("server", "resize", "--flavor", "e2e-cold-2", "--wait", guest.id)
    on(dest, "VERIFY_RESIZE", "e2e-cold-2")
    boots_on(dest, 0)
    argv = qemu_argv(cloud)
    assert argv[argv.index("-smp") + 1] == "2" and argv[argv.index("-m") + 1] == "640"
    assert hosts.kept(source).exists()
    cli.run("server", "resize", "confirm", guest.id)
    guest.wait_status("ACTIVE")
    on(dest, "ACTIVE", "e2e-cold-2")
    wait_until("the source's copy dropped", lambda: not hosts.kept(source).exists(), 60)
    assert list(cloud.state_dir.glob(f"qemu/{source}/instances/{guest.id}")) == []
    only_tap_of(dest)

    # Cold migration back to the first host, then reverted: the guest boots again where it was.
    before = hosts.boots(source)
    cli.run("--os-compute-api-version", "2.56", "server", "migrate", "--host", source,
            "--wait", guest.id)
    on(source, "VERIFY_RESIZE", "e2e-cold-2")
    boots_on(source, before)
    before = hosts.boots(dest)
    cli.run("server", "resize", "revert", guest.id)
    guest.wait_status("ACTIVE")
    on(dest, "ACTIVE", "e2e-cold-2")
    boots_on(dest, before)
    assert list(cloud.state_dir.glob(f"qemu/{source}/instances/{guest.id}")) == []
    only_tap_of(dest)
    assert len(qemu_pids(cloud.state_dir)) == 1

    cli.run("server", "delete", "--wait", guest.id)
    assert qemu_pids(cloud.state_dir) == []
    assert port_taps() == []
    assert list(cloud.state_dir.glob(f"qemu/*/*/{guest.id}")) == []
    cli.run("network", "delete", net)
