"""A real guest on a real network through the CLI: `make up` with its QEMU host runs the
network agent, the guest gets its port's address from the network's dnsmasq, answers ping
from `qdhcp-<network>` once its security group lets ICMP in, and the cloud leaves no namespace
or dnsmasq behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from nimbus.dataplane import host as dataplane_host
from nimbus.dataplane import ip, names
from tests.e2e.conftest import Cli, RunningCloud, free_port
from tests.e2e.test_qemu_cli import qemu_pids, wait_until
from tests.integration.dataplane.conftest import dnsmasq_pids

pytestmark = [pytest.mark.e2e, pytest.mark.qemu, pytest.mark.dataplane,
              pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None
                                 or bool(dataplane_host.missing()),
                                 reason="needs qemu-system-x86_64, root, ip, dnsmasq, iptables, nft")]


@pytest.fixture
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = RunningCloud(port=free_port(),
                           state_dir=tmp_path_factory.mktemp("e2e-qemu-net") / "state",
                           env={"NIMBUS_QEMU_HOST": "on", "NIMBUS_FAKE_HOSTS": "0"},
                           start_timeout=600.0)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for pid in qemu_pids(running.state_dir):  # a failed test's guest
            os.kill(pid, signal.SIGKILL)


def pings(netns: str, address: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", address],
                          capture_output=True).returncode == 0


def test_guest_gets_its_address_by_dhcp_and_answers_ping(cloud: RunningCloud) -> None:
    cli = Cli(cloud.cli_env)
    net_name = f"e2e-private-{uuid.uuid4().hex[:6]}"
    net = cli.json("network", "create", net_name)
    cli.json("subnet", "create", "--network", net["id"], "--subnet-range", "10.123.0.0/24",
             f"{net_name}-v4")
    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--network", net["id"], "--wait", "e2e-qemu-net-vm")
    assert server["status"] == "ACTIVE", server
    [port] = cli.json("port", "list", "--server", server["id"])
    address = port["Fixed IP Addresses"][0]["ip_address"]

    console = lambda: cli.run("console", "log", "show", server["id"]).stdout  # noqa: E731
    wait_until("DHCP address in the console", lambda: f"address eth0 {address}/24" in console())
    qdhcp = names.dhcp_namespace(net["id"])
    assert not pings(qdhcp, address)  # the default group lets in only its own members
    [group] = cli.json("port", "show", port["ID"])["security_group_ids"]
    cli.run("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", group)
    wait_until("ping from the DHCP namespace", lambda: pings(qdhcp, address), 60)

    host_ns = names.host_namespace(cloud.state_dir)
    cli.run("server", "delete", "--wait", server["id"])
    assert names.tap(port["ID"]) not in _links(host_ns)
    cli.run("network", "delete", net["id"])
    wait_until("DHCP namespace removed", lambda: not ip.netns_exists(qdhcp), 60)
    # No guest plugged in: a stopping cloud removes its whole dataplane.
    cloud.stop()
    assert not ip.netns_exists(host_ns)
    assert dnsmasq_pids(cloud.state_dir) == []


def _links(netns: str) -> list[str]:
    shown = subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True, text=True)
    return [line.split(":")[1].strip().split("@")[0] for line in shown.stdout.splitlines()]

