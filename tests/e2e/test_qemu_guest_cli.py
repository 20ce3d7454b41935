"""One real guest's whole life through the real CLI (issue 7's "done when"): `make up` with its
QEMU host and network agent; the guest gets its port's address from the network's dnsmasq,
answers ping from `qdhcp-<network>` once its security group lets ICMP in, goes through every
power action, a snapshot and a hot-plugged volume, survives its QEMU killed from outside, and
its delete leaves no process, tap, instance directory or namespace behind.

One guest on purpose: each TCG boot costs CI tens of seconds."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest

from nimbus.dataplane import ip, names
from nimbus.guestimage import LOGIN_MARKER
from tests.e2e.conftest import Cli, RunningCloud, qemu_cloud, qemu_pids
from tests.e2e.qemu_helpers import QEMU_DATAPLANE_MARKS, Guest, links, pings, wait_until
from tests.integration.dataplane.conftest import dnsmasq_pids

pytestmark = QEMU_DATAPLANE_MARKS


@pytest.fixture
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with qemu_cloud(tmp_path_factory.mktemp("e2e-qemu") / "state") as running:
        yield running


def test_one_guest_from_network_to_delete(cloud: RunningCloud) -> None:
    if "network agent: dataplane" not in "".join(cloud.output):
        pytest.fail("the cloud runs no dataplane though its tools are here")
    cli = Cli(cloud.cli_env)
    net_name = f"private-{uuid.uuid4().hex[:6]}"
    net = cli.json("network", "create", net_name)["id"]
    cli.json("subnet", "create", "--network", net, "--subnet-range", "10.123.0.0/24", f"{net_name}-v4")
    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--network", net_name, "--wait", "e2e-qemu-vm")
    assert server["status"] == "ACTIVE", server
    guest = Guest(cli, server["id"])
    [port] = cli.json("port", "list", "--server", guest.id)
    address = port["Fixed IP Addresses"][0]["ip_address"]

    # The tap the network agent plugged is the guest's NIC: dnsmasq's lease reaches it.
    guest.wait_console(LOGIN_MARKER)
    console = guest.console()
    assert f"nimbus-guest: address eth0 {address}/24" in console, console
    assert "config drive /dev/sr0: hostname e2e-qemu-vm" in console, console
    qdhcp = names.dhcp_namespace(net)
    assert not pings(qdhcp, address)  # the default group lets in only its own members
    [group] = cli.json("port", "show", port["ID"])["security_group_ids"]
    cli.run("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", group)
    wait_until("ping from the DHCP namespace", lambda: pings(qdhcp, address), 60)

    guest.act("stop", status="SHUTOFF")
    assert qemu_pids(cloud.state_dir) == []
    guest.boot("start")
    guest.boot("reboot")
    guest.boot("reboot", "--hard")
    guest.act("pause", status="PAUSED")
    guest.act("unpause")
    guest.act("suspend", status="SUSPENDED")
    assert qemu_pids(cloud.state_dir) == []
    guest.act("resume")
    wait_until("ping after resume", lambda: pings(qdhcp, address), 60)

    image = cli.json("server", "image", "create", "--wait", "--name", "e2e-qemu-snap", guest.id)
    assert cli.json("image", "show", image["id"])["status"] == "active"

    volume = cli.json("volume", "create", "--size", "1", "e2e-qemu-vol")["id"]

    def volume_status() -> str:
        status: str = cli.json("volume", "show", volume)["status"]
        return status

    wait_until("available volume", lambda: volume_status() == "available", 60)
    cli.run("server", "add", "volume", guest.id, volume)
    wait_until("volume in-use", lambda: volume_status() == "in-use", 60)
    guest.wait_console("nimbus-guest: block added vdb")
    cli.run("server", "remove", "volume", guest.id, volume)
    wait_until("volume available again", lambda: volume_status() == "available", 60)
    guest.wait_console("nimbus-guest: block removed vdb")

    # Killed behind the cloud's back: the agent's power-state sync (at its restart here) sees it.
    [pid] = qemu_pids(cloud.state_dir)
    os.kill(pid, signal.SIGKILL)
    cloud.restart()
    shown = cli.json("server", "show", guest.id)
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
    guest.boot("start")
    assert len(qemu_pids(cloud.state_dir)) == 1

    host_ns = names.host_namespace(cloud.state_dir)
    cli.run("server", "delete", "--wait", guest.id)
    assert qemu_pids(cloud.state_dir) == []
    assert not [tap for tap in links(host_ns) if tap.startswith(names.port_taps(port["ID"]))]
    assert list(cloud.state_dir.glob(f"qemu/*/instances/{guest.id}")) == []
    assert [p for p in cloud.state_dir.rglob("config.iso") if guest.id in str(p)] == []

    cli.run("volume", "delete", volume)
    cli.run("image", "delete", image["id"])
    cli.run("network", "delete", net)
    wait_until("DHCP namespace removed", lambda: not ip.netns_exists(qdhcp), 60)
    # No guest plugged in: a stopping cloud removes its whole dataplane.
    cloud.stop()
    assert not ip.netns_exists(host_ns)
    assert dnsmasq_pids(cloud.state_dir) == []
    assert list(cloud.state_dir.glob("qemu/*/instances/*")) == []
