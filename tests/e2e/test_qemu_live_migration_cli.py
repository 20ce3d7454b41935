"""A real guest live-migrated between two QEMU hosts of one cloud with the real CLI (issue 8's
"done when" on QEMU): `make up` with NIMBUS_QEMU_HOSTS=2, a guest with a NIC and a volume booted
on one, `openstack server migrate --live-migration --host <other>`, and the guest shown to run on
the other: it answers ping through the other host's tap, its console there starts at the move,
and it reports the volume unplugged on that host."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from nimbus.dataplane import names
from nimbus.guestimage import LOGIN_MARKER
from tests.e2e.conftest import Cli, RunningCloud, qemu_cloud, qemu_pids
from tests.e2e.qemu_helpers import (
    QEMU_DATAPLANE_MARKS,
    Guest,
    dataplane_state,
    links,
    pings,
    wait_until,
)

pytestmark = QEMU_DATAPLANE_MARKS


@pytest.fixture
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with qemu_cloud(tmp_path_factory.mktemp("e2e-live") / "state",
                    NIMBUS_QEMU_HOSTS="2") as running:
        yield running


def test_live_migration_moves_a_running_guest_to_the_other_qemu_host(
        cloud: RunningCloud) -> None:
    cli = Cli(cloud.cli_env)
    hosts = sorted(h["Host"] for h in cli.json("compute", "service", "list",
                                               "--service", "nova-compute"))
    assert len(hosts) == 2, hosts
    source, dest = hosts
    net_name = f"live-{uuid.uuid4().hex[:6]}"
    net = cli.json("network", "create", net_name)["id"]
    cli.json("subnet", "create", "--network", net, "--subnet-range", "10.124.0.0/24",
             f"{net_name}-v4")
    server = cli.json("server", "create", "--image", "nimbus-guest", "--flavor", "m1.tiny",
                      "--network", net_name, "--availability-zone", f"nova:{source}", "--wait",
                      "e2e-live-vm")
    assert server["status"] == "ACTIVE", server
    guest = Guest(cli, server["id"])
    [port] = cli.json("port", "list", "--server", guest.id)
    address = port["Fixed IP Addresses"][0]["ip_address"]
    guest.wait_console(f"nimbus-guest: address eth0 {address}/24")
    [group] = cli.json("port", "show", port["ID"])["security_group_ids"]
    cli.run("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", group)
    qdhcp, host_ns = names.dhcp_namespace(net), names.host_namespace(cloud.state_dir)
    wait_until("ping before the move", lambda: pings(qdhcp, address), 60)
    guest.wait_console(LOGIN_MARKER)
    volume = cli.json("volume", "create", "--size", "1", "e2e-live-vol")["id"]
    wait_until("available volume",
               lambda: cli.json("volume", "show", volume)["status"] == "available", 60)
    cli.run("server", "add", "volume", guest.id, volume)
    guest.wait_console("nimbus-guest: block added vdb")
    [source_pid] = qemu_pids(cloud.state_dir)

    cli.run("--os-compute-api-version", "2.30", "server", "migrate", "--live-migration",
            "--host", dest, "--wait", guest.id)
    shown = cli.json("server", "show", guest.id)
    assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", dest), shown
    [migration] = cli.json("--os-compute-api-version", "2.59", "server", "migration", "list",
                           "--server", guest.id)
    assert (migration["Status"], migration["Source Compute"], migration["Dest Compute"]) == (
        "completed", source, dest), migration
    # One QEMU, the destination's: the source's quit once the guest ran there.
    [dest_pid] = qemu_pids(cloud.state_dir)
    assert dest_pid != source_pid
    assert list(cloud.state_dir.glob(f"qemu/{source}/instances/{guest.id}")) == []
    # Its NIC is on the destination's tap now; the source unplugged its own.
    wait_until("ping after the move", lambda: pings(qdhcp, address), 60,
               explain=lambda: dataplane_state(host_ns, qdhcp) + guest.console()[-2000:])
    taps = links(host_ns)
    assert names.guest_tap(port["ID"], dest) in taps
    assert names.guest_tap(port["ID"], source) not in taps

    # The console is the destination's now: no boot in it, and the guest, running there,
    # notices its volume going.
    assert LOGIN_MARKER not in guest.console()
    cli.run("server", "remove", "volume", guest.id, volume)
    guest.wait_console("nimbus-guest: block removed vdb")
    assert LOGIN_MARKER not in guest.console()
    [record] = [json.loads(line) for line in (
        cloud.state_dir / "qemu" / source / "live-migrations.jsonl").read_text().splitlines()]
    assert record["uuid"] == guest.id and 0 < record["downtime_ms"] < record["total_ms"]

    cli.run("server", "delete", "--wait", guest.id)
    assert qemu_pids(cloud.state_dir) == []
    cli.run("volume", "delete", volume)
    cli.run("network", "delete", net)
