"""The agent loop: read the network service, make the host namespace match.

    agent = NetworkAgent(state_dir, network_client, service_token)
    await agent.sync()        # at start (reconciles leftovers) and then every few seconds
    await agent.teardown()    # all-in-one shutdown: no namespace, no dnsmasq left

It works only on what this cloud owns: its host namespace (named from the state directory)
and the DHCP directories under the state directory. A sync applies only what changed since
the last one, so an idle cloud costs a few REST lists per interval.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from nimbus.core.clients.network import NetworkClient
from nimbus.dataplane import dhcp, firewall, ip, names, router
from nimbus.dataplane.dhcp import DhcpNetwork
from nimbus.dataplane.firewall import PortFilter
from nimbus.dataplane.router import RouterSpec
from nimbus.network.agent import desired
from nimbus.network.agent.desired import Snapshot

LOG = logging.getLogger(__name__)

BINARY = "neutron-linuxbridge-agent"


def _narrowed(old: PortFilter, new: PortFilter | None) -> bool:
    """Whether `new` may refuse a flow `old` allowed. A member joining a remote group only
    widens its rules: that must not cost every port of the group a conntrack flush."""
    if new is None or (new.secured, new.ips, new.macs) != (old.secured, old.ips, old.macs):
        return True
    for rule in old.rules:
        key = (rule.direction, rule.protocol, rule.port_range_min, rule.port_range_max)
        if not any((r.direction, r.protocol, r.port_range_min, r.port_range_max) == key
                   and (r.remote_ips is None or (rule.remote_ips is not None
                                                 and set(rule.remote_ips) <= set(r.remote_ips)))
                   for r in new.rules):
            return True
    return False


def _changed_addresses(old: list[PortFilter], new: list[PortFilter]) -> tuple[str, ...]:
    """The addresses of secured ports whose filter narrowed or went."""
    now = {f.port_id: f for f in new}
    return tuple(sorted({a for f in old if f.secured and now.get(f.port_id) != f
                         and _narrowed(f, now.get(f.port_id)) for a in f.ips}))


class NetworkAgent:
    def __init__(self, state_dir: Path, network: NetworkClient,
                 token: Callable[[], Awaitable[str]]) -> None:
        self.state_dir = state_dir
        self.host_ns = names.host_namespace(state_dir)
        self.network = network
        self.token = token
        self._filters: list[PortFilter] | None = None
        self._dhcp: dict[str, DhcpNetwork] = {}
        self._routers: dict[str, RouterSpec] = {}
        self._mark = f"nimbus-agent-{uuid.uuid4().hex}"
        self._lock = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        token = await self.token()
        networks, subnets, ports, rules, routers, floating_ips = await asyncio.gather(
            *(self.network.list_all(token, collection) for collection in (
                "networks", "subnets", "ports", "security-group-rules", "routers",
                "floatingips")))
        return Snapshot(networks, subnets, ports, rules, routers, floating_ips)

    async def _ensure_dhcp_ports(self, snap: Snapshot) -> Snapshot:
        """Neutron's DHCP agent asks the server for its port on each network it serves."""
        missing = [n for n in desired.networks_needing_dhcp(snap)
                   if desired.dhcp_port(snap, n["id"]) is None]
        if not missing:
            return snap
        token = await self.token()
        made = [await self.network.create_port(token, desired.dhcp_port_request(
                    snap, n, f"dhcp{self.host_ns}-{n['id']}")) for n in missing]
        return dataclasses.replace(snap, ports=[*snap.ports, *made])

    async def sync(self) -> None:
        """One pass: filters, DHCP, and removal of what deleted networks left."""
        async with self._lock:
            snap = await self._ensure_dhcp_ports(await self.snapshot())
            # No baseline filter (vif's): a fresh namespace gets the full filter below.
            await ip.ensure_netns(self.host_ns)
            # lo's alias marks a namespace this agent has filled; a new one (made again after
            # a removal: its inode number may well be the old one's) gets everything anew.
            lo = (await ip.links(self.host_ns)).get("lo", {})
            fresh = lo.get("ifalias") != self._mark
            if fresh:
                self._filters, self._dhcp, self._routers = None, {}, {}
            filters = desired.port_filters(snap)
            if filters != self._filters:
                await firewall.apply(self.host_ns, filters,
                                     forget=_changed_addresses(self._filters or [], filters))
                self._filters = filters
            wanted = {k: v for k, v in desired.dhcp_networks(snap).items() if v is not None}
            for network_id, net in wanted.items():
                before = self._dhcp.get(network_id)
                if before == net and dhcp.running(self.state_dir, network_id):
                    continue
                # The common change, a port come or gone, is a hosts file and a SIGHUP.
                if not (before is not None and dataclasses.replace(before, hosts=net.hosts) == net
                        and dhcp.reload_hosts(self.state_dir, net)):
                    await dhcp.enable(self.state_dir, self.host_ns, net)
                self._dhcp[network_id] = net
            for network_id in set(dhcp.enabled_networks(self.state_dir)) - set(wanted):
                LOG.info("DHCP for network %s stops", network_id)
                await dhcp.disable(self.state_dir, network_id)
                self._dhcp.pop(network_id, None)
            await self._sync_routers(desired.routers(snap))
            await self._remove_bridges({names.bridge(n["id"]) for n in snap.networks})
            if fresh:
                await ip.run("link", "set", "lo", "alias", self._mark, netns=self.host_ns)

    async def _sync_routers(self, wanted: dict[str, RouterSpec]) -> None:
        for router_id, spec in wanted.items():
            if self._routers.get(router_id) != spec or not ip.netns_exists(
                    names.router_namespace(router_id)):
                await router.enable(self.state_dir, self.host_ns, spec)
                self._routers[router_id] = spec
        for router_id in set(router.enabled_routers(self.state_dir)) - set(wanted):
            LOG.info("router %s is gone; removing its namespace", router_id)
            await router.disable(self.state_dir, router_id)
            self._routers.pop(router_id, None)

    async def _remove_bridges(self, keep: set[str]) -> None:
        """Bridges of networks that are gone, once nothing is plugged into them (a tap still
        there is compute's to unplug)."""
        links = await ip.links(self.host_ns)
        used = {link.get("master") for link in links.values()}
        for name, link in links.items():
            kind = link.get("linkinfo", {}).get("info_kind")
            if kind == "bridge" and name.startswith("brq") and name not in keep | used:
                LOG.info("removing bridge %s: its network is gone", name)
                await ip.delete_link(self.host_ns, name)

    async def plugged_taps(self) -> list[str]:
        """Taps compute has plugged (guests' NICs), as opposed to the cloud's own veths."""
        links = await ip.links(self.host_ns)
        return sorted(name for name, link in links.items() if name.startswith(names.TAP_PREFIX)
                      and link.get("linkinfo", {}).get("info_kind") == "tun")

    async def teardown_if_idle(self) -> bool:
        """At shutdown: remove everything unless a guest is still plugged in. Guests outlive
        the cloud, and their networking with them; the next start reconciles."""
        if await self.plugged_taps():
            return False
        await self.teardown()
        return True

    async def teardown(self) -> None:
        """Remove every DHCP server, router and namespace of this cloud. Idempotent."""
        async with self._lock:
            for network_id in dhcp.enabled_networks(self.state_dir):
                await dhcp.disable(self.state_dir, network_id)
            for router_id in router.enabled_routers(self.state_dir):
                await router.disable(self.state_dir, router_id)
            await ip.delete_netns(self.host_ns)
            self._filters = None
            self._dhcp = {}
            self._routers = {}
