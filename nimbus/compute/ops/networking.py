"""A server's ports, as its agent makes them: created or bound at build, released at delete.

    ports = Ports(network_client, service_token)
    info = await ports.allocate(uuid, project_id, host, zone, requested)   # cache entries
    await ports.release(info)   # created ports deleted, given ones unbound

The agent works as the service user, so the ports it creates belong to the server's project
and carry binding:host_id. Each cache entry says whether compute created the port: only
those are deleted with the server (Nova's `preserve_on_delete` the other way round).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nimbus.compute import errors
from nimbus.compute.objects import RequestedNetwork
from nimbus.compute.virt.driver import VifSpec
from nimbus.core.clients.network import NetworkClient
from nimbus.core.context import RequestContext
from nimbus.dataplane import names, vif

if TYPE_CHECKING:
    from nimbus.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)

NetworkInfo = list[dict[str, Any]]
_UNBOUND = {"device_id": "", "device_owner": "", "binding:host_id": ""}


class Ports:
    def __init__(self, network: NetworkClient, token: Callable[[], Awaitable[str]]) -> None:
        self.network = network
        self.token = token

    async def _entry(self, token: str, port: dict[str, Any], *, created: bool,
                     tag: str | None) -> dict[str, Any]:
        network = await self.network.get_network(token, port["network_id"])
        return {"port_id": port["id"], "network_id": port["network_id"],
                "network_name": network.get("name") or port["network_id"],
                "mac_address": port["mac_address"], "fixed_ips": port.get("fixed_ips", []),
                "mtu": network.get("mtu") or 1500, "created": created,
                "tag": tag}

    async def allocate_one(self, instance_uuid: str, project_id: str, host: str,
                           zone: str | None, wanted: RequestedNetwork) -> dict[str, Any]:
        """One interface: a port created on the network, or the given port bound here."""
        token = await self.token()
        binding = {"device_id": instance_uuid, "device_owner": f"compute:{zone or 'nova'}",
                   "binding:host_id": host}
        if wanted.port_id is not None:
            port = await self.network.update_port(token, wanted.port_id, binding)
            return await self._entry(token, port, created=False, tag=wanted.tag)
        attrs: dict[str, Any] = {"network_id": wanted.network_id, "project_id": project_id,
                                 **binding}
        if wanted.fixed_ip is not None:
            attrs["fixed_ips"] = [{"ip_address": wanted.fixed_ip}]
        port = await self.network.create_port(token, attrs)
        try:
            return await self._entry(token, port, created=True, tag=wanted.tag)
        except Exception:
            await self.network.delete_port(token, port["id"])
            raise

    async def allocate(self, instance_uuid: str, project_id: str, host: str, zone: str | None,
                       requested: list[RequestedNetwork]) -> NetworkInfo:
        """Every requested interface, or none: a failure releases what was done before it."""
        info: NetworkInfo = []
        try:
            for wanted in requested:
                info.append(await self.allocate_one(instance_uuid, project_id, host, zone, wanted))
        except Exception:
            await self.release(info)
            raise
        return info

    async def release(self, info: NetworkInfo) -> None:
        """Delete the ports compute created and unbind the others; best effort per port, so
        one failure does not keep the rest."""
        token = await self.token()
        for entry in info:
            try:
                if entry.get("created"):
                    await self.network.delete_port(token, entry["port_id"])
                else:
                    await self.network.update_port(token, entry["port_id"], _UNBOUND)
            except Exception as exc:  # reported, and the next port is still released
                LOG.warning("could not release port %s: %s", entry["port_id"], exc)


def vifs(info: NetworkInfo) -> tuple[VifSpec, ...]:
    return tuple(VifSpec(port_id=e["port_id"], mac=e["mac_address"], network_id=e["network_id"],
                         fixed_ips=tuple(f["ip_address"] for f in e["fixed_ips"]),
                         mtu=int(e.get("mtu") or 1500)) for e in info)


async def plug_vifs(agent: ComputeAgent, specs: tuple[VifSpec, ...]) -> tuple[VifSpec, ...]:
    """Taps on the dataplane's bridges for a driver that needs them (QEMU); the specs as they
    are for one that does not (fake)."""
    if not agent.driver.needs_dataplane or agent.dataplane_ns is None:
        return specs
    plugged = []
    for spec in specs:
        netns, tap = await vif.plug_vif(agent.dataplane_ns, spec.network_id, spec.port_id,
                                        host=agent.host, mtu=spec.mtu)
        plugged.append(dataclasses.replace(spec, netns=netns, tap=tap,
                                           bridge=names.bridge(spec.network_id)))
    return tuple(plugged)


async def unplug_vifs(agent: ComputeAgent, info: NetworkInfo) -> None:
    """Remove the ports' taps after the guest is gone; best effort per port, idempotent."""
    if not agent.driver.needs_dataplane or agent.dataplane_ns is None:
        return
    for entry in info:
        try:
            await vif.unplug_vif(agent.dataplane_ns, entry["port_id"], host=agent.host)
        except Exception as exc:  # reported; the port is still released
            LOG.warning("could not unplug port %s: %s", entry["port_id"], exc)


async def attach_interface(agent: ComputeAgent, ctx: RequestContext, uuid: str, project_id: str,
                           zone: str | None, requested: RequestedNetwork) -> dict[str, Any]:
    """Make or bind the port, then add it to the instance's cache (the guest's hot-plug comes
    with a driver that has one); a port made for an instance that left is released again."""
    entry = await agent.ports.allocate_one(uuid, project_id, agent.host, zone, requested)
    info = [*await agent.conductor.network_info(ctx, uuid), entry]
    if not await agent.conductor.instance_update(ctx, uuid, {"network_info": info},
                                                 expected_host=agent.host):
        await agent.ports.release([entry])
        raise errors.ServerNotFound(server_id=uuid)
    return entry


async def detach_interface(agent: ComputeAgent, ctx: RequestContext, uuid: str,
                           port_id: str) -> None:
    info = await agent.conductor.network_info(ctx, uuid)
    leaving = [e for e in info if e["port_id"] == port_id]
    await agent.conductor.instance_update(
        ctx, uuid, {"network_info": [e for e in info if e["port_id"] != port_id]},
        expected_host=agent.host)
    await unplug_vifs(agent, leaving)
    await agent.ports.release(leaving)
