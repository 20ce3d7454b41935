"""The rest of issue 8's life-cycle actions on a real guest between two QEMU hosts of one cloud,
with the real CLI (`make up` with NIMBUS_QEMU_HOSTS=2 and its network agent): lock (a non-admin
member of the project is refused), `server dump create` (an NMI into the running guest), rescue
and unrescue, rebuild, shelve with offload and unshelve, and evacuate off a host forced down.

One guest goes through them all: each TCG boot costs CI seconds. Each action that boots the
guest is seen booting (a new login marker on the console of the host that runs it), keeps its
port and DHCP address, and answers ping afterwards. An evacuated guest still runs on its source
(its agent is alive, only forced down): the source's agent removes it when it starts again, as
Nova's init_host does."""

from __future__ import annotations

import uuid
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
    new_marker,
    pings,
    two_hosts_and_network,
    wait_until,
)

pytestmark = QEMU_DATAPLANE_MARKS


@pytest.fixture
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with qemu_cloud(tmp_path_factory.mktemp("e2e-actions") / "state",
                    NIMBUS_QEMU_HOSTS="2") as running:
        yield running


def qemu_disks(pid: int) -> list[str]:
    """The file names of the -blockdev file nodes of one QEMU process, in order."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return [part.split("=", 1)[1] for arg in argv for part in arg.split(",")
            if part.startswith("filename=")]


def test_more_actions_on_one_guest_between_two_qemu_hosts(cloud: RunningCloud) -> None:
    cli, (first, second), net_name, net = two_hosts_and_network(cloud, "actions",
                                                                "10.125.0.0/24")
    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--network", net_name, "--availability-zone", f"nova:{first}",
                      "--wait", "e2e-actions-vm")
    assert server["status"] == "ACTIVE", server
    guest, hosts = Guest(cli, server["id"]), Hosts(cloud, server["id"])
    [port] = cli.json("port", "list", "--server", guest.id)
    address = port["Fixed IP Addresses"][0]["ip_address"]
    qdhcp = names.dhcp_namespace(net)
    [group] = cli.json("port", "show", port["ID"])["security_group_ids"]
    cli.run("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", group)
    guest.wait_console(LOGIN_MARKER)

    def host() -> str:
        found: str = cli.json("server", "show", guest.id)["OS-EXT-SRV-ATTR:host"]
        return found

    def runs_again(on: str, before: str) -> None:
        """A new boot on `on` since its console read `before` (a rebuild starts the log
        afresh), with the same port and address, and it answers ping."""
        wait_until(f"a boot on {on}", lambda: new_marker(before, hosts.console(on)))
        last_boot = hosts.console(on).split(LOGIN_MARKER)[-2]
        assert f"nimbus-guest: address eth0 {address}/24" in last_boot, last_boot
        assert [p["ID"] for p in cli.json("port", "list", "--server", guest.id)] == [port["ID"]]
        wait_until(f"ping on {on}", lambda: pings(qdhcp, address), 60)

    runs_again(first, "")

    # Lock: the project's non-admin member can neither act on the guest nor unlock it.
    password = uuid.uuid4().hex
    cli.run("user", "create", "--password", password, "e2e-actions-member")
    cli.run("role", "add", "--user", "e2e-actions-member", "--project", "admin", "member")
    member = cli.as_user(cloud.url, "e2e-actions-member", password, "admin")
    assert member.json("server", "show", guest.id)["id"] == guest.id
    cli.run("server", "lock", guest.id)
    refused = member.run("server", "stop", guest.id, check=False)
    assert refused.returncode != 0 and "locked" in refused.stderr.lower(), refused.stderr
    assert member.run("server", "unlock", guest.id, check=False).returncode != 0
    assert cli.json("server", "show", guest.id)["locked"] is True
    cli.run("server", "unlock", guest.id)
    assert cli.json("server", "show", guest.id)["locked"] is False

    # A crash dump is an NMI: the guest's kernel reports it and (no kdump in it) runs on.
    cli.run("server", "dump", "create", guest.id)
    guest.wait_console("NMI received")
    assert guest.status() == "ACTIVE"
    wait_until("ping after the NMI", lambda: pings(qdhcp, address), 60)

    # Rescue boots a rescue disk with the guest's own disk second; unrescue boots its own.
    [pid] = qemu_pids(cloud.state_dir)
    own_disks = qemu_disks(pid)
    before = hosts.console(first)
    guest.act("rescue", status="RESCUE")
    wait_until("the rescue boot", lambda: new_marker(before, hosts.console(first)))
    [pid] = qemu_pids(cloud.state_dir)
    rescue_disks = qemu_disks(pid)
    assert rescue_disks[0].endswith("rescue.qcow2") and rescue_disks[1:] == own_disks, rescue_disks
    before = hosts.console(first)
    guest.act("unrescue")
    runs_again(first, before)
    [pid] = qemu_pids(cloud.state_dir)
    assert qemu_disks(pid) == own_disks

    # Rebuild from the same image: a new disk, a new boot, the same port.
    before = hosts.console(first)
    guest.act("rebuild", "--image", "nimbus-guest")
    runs_again(first, before)

    # Shelve offloads at once (shelved_offload_time 0): no QEMU, no instance directory left.
    guest.act("shelve", status="SHELVED_OFFLOADED")
    assert qemu_pids(cloud.state_dir) == []
    assert list(cloud.state_dir.glob(f"qemu/*/instances/{guest.id}")) == []
    boots = {h: hosts.console(h) for h in (first, second)}
    guest.act("unshelve")
    on = host()
    runs_again(on, boots[on])
    assert len(qemu_pids(cloud.state_dir)) == 1

    # Evacuate off a host forced down: the guest boots on the other one. Its agent still runs,
    # so the old QEMU runs on until that agent starts again and removes it.
    source = on
    dest = second if source == first else first
    cli.run("compute", "service", "set", "--down", source, "nova-compute")
    before = hosts.console(dest)
    # `server evacuate --wait` of the installed CLI never returns: poll instead.
    cli.run("server", "evacuate", guest.id)
    wait_until("the guest ACTIVE on the other host",
               lambda: (guest.status(), host()) == ("ACTIVE", dest))
    runs_again(dest, before)
    assert len(qemu_pids(cloud.state_dir)) == 2
    cloud.restart()
    assert len(qemu_pids(cloud.state_dir)) == 1
    assert list(cloud.state_dir.glob(f"qemu/{source}/instances/{guest.id}")) == []
    cli.run("compute", "service", "set", "--up", source, "nova-compute")
    assert (guest.status(), host()) == ("ACTIVE", dest)
    wait_until(f"ping on {dest} after the restart", lambda: pings(qdhcp, address), 60)

    cli.run("server", "delete", "--wait", guest.id)
    assert qemu_pids(cloud.state_dir) == []
    assert list(cloud.state_dir.glob(f"qemu/*/*/{guest.id}")) == []
    cli.run("network", "delete", net)
