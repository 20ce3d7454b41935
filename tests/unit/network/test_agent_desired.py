"""What the network agent wants of the dataplane, from the network service's resources."""

from __future__ import annotations

from typing import Any

from nimbus.network.agent import desired
from nimbus.network.agent.desired import Snapshot

NET = "11111111-1111-1111-1111-111111111111"
SUBNET = "22222222-2222-2222-2222-222222222222"
GROUP = "33333333-3333-3333-3333-333333333333"


def port(pid: str, ip: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "network_id": NET, "mac_address": f"fa:16:3e:00:00:{pid[-2:]}",
            "fixed_ips": [{"subnet_id": SUBNET, "ip_address": ip}], "device_owner": "compute:nova",
            "security_groups": [GROUP], "port_security_enabled": True, **extra}


def snapshot(ports: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> Snapshot:
    return Snapshot(
        networks=[{"id": NET, "project_id": "p", "mtu": 1450}],
        subnets=[{"id": SUBNET, "network_id": NET, "ip_version": 4, "cidr": "10.0.0.0/24",
                  "gateway_ip": "10.0.0.1", "enable_dhcp": True, "dns_nameservers": [],
                  "host_routes": []}],
        ports=ports, security_group_rules=rules or [])


def test_remote_group_rules_expand_to_the_members_addresses() -> None:
    snap = snapshot([port("a01", "10.0.0.5"), port("a02", "10.0.0.6")], [
        {"security_group_id": GROUP, "direction": "ingress", "ethertype": "IPv4",
         "protocol": None, "port_range_min": None, "port_range_max": None,
         "remote_group_id": GROUP, "remote_ip_prefix": None},
        {"security_group_id": GROUP, "direction": "egress", "ethertype": "IPv6",
         "protocol": None, "remote_group_id": None, "remote_ip_prefix": None}])
    first = desired.port_filters(snap)[0]
    assert first.secured
    [rule] = first.rules  # the IPv6 one is not served
    assert rule.direction == "ingress"
    assert rule.remote_ips == ("10.0.0.5", "10.0.0.6")


def test_cloud_ports_and_disabled_port_security_are_not_filtered() -> None:
    snap = snapshot([port("a01", "10.0.0.5", port_security_enabled=False),
                     port("a02", "10.0.0.2", device_owner="network:dhcp", security_groups=[])])
    assert [f.secured for f in desired.port_filters(snap)] == [False, False]


def test_allowed_address_pairs_may_be_sent_from() -> None:
    snap = snapshot([port("a01", "10.0.0.5", allowed_address_pairs=[
        {"ip_address": "10.0.0.100", "mac_address": "fa:16:3e:aa:aa:aa"}])])
    [f] = desired.port_filters(snap)
    assert f.ips == ("10.0.0.5", "10.0.0.100")
    assert f.macs == ("fa:16:3e:00:00:01", "fa:16:3e:aa:aa:aa")


def test_dhcp_needs_a_port_of_its_own_then_serves_the_others() -> None:
    snap = snapshot([port("a01", "10.0.0.5")])
    assert desired.dhcp_networks(snap) == {NET: None}
    request = desired.dhcp_port_request(snap, snap.networks[0], "dhcp-x")
    assert request["device_owner"] == "network:dhcp"
    assert request["fixed_ips"] == [{"subnet_id": SUBNET}]

    served = snapshot([port("a01", "10.0.0.5"),
                       port("a02", "10.0.0.2", device_owner="network:dhcp")])
    net = desired.dhcp_networks(served)[NET]
    assert net is not None
    assert net.port_ips == ("10.0.0.2/24",)
    assert [(h.mac, h.ip) for h in net.hosts] == [("fa:16:3e:00:00:01", "10.0.0.5")]
    assert net.mtu == 1450


def test_a_network_with_only_its_dhcp_port_needs_no_dhcp() -> None:
    snap = snapshot([port("a02", "10.0.0.2", device_owner="network:dhcp")])
    assert desired.dhcp_networks(snap) == {}


def test_a_member_joining_a_remote_group_does_not_flush_flows() -> None:
    from nimbus.dataplane.firewall import PortFilter, Rule
    from nimbus.network.agent.agent import _changed_addresses

    def f(*remote: str, ips: tuple[str, ...] = ("10.0.0.5",)) -> PortFilter:
        return PortFilter("p1", macs=("fa:16:3e:00:00:01",), ips=ips,
                          rules=(Rule("ingress", remote_ips=remote), Rule("egress")))

    assert _changed_addresses([f("10.0.0.5")], [f("10.0.0.5", "10.0.0.6")]) == ()
    assert _changed_addresses([f("10.0.0.5", "10.0.0.6")], [f("10.0.0.5")]) == ("10.0.0.5",)
    assert _changed_addresses([f("10.0.0.5")], [f("10.0.0.5", ips=("10.0.0.7",))]) == ("10.0.0.5",)
    assert _changed_addresses([f("10.0.0.5")], []) == ("10.0.0.5",)
