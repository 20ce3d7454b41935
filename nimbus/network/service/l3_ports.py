"""What deleting a port or a network means for routers and floating IPs, for the ports and
networks services to call.

Ports a router or a floating IP owns go with their owner, never through the port API
(409 L3PortInUse). A port that leaves takes its floating IP associations with it.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.network import errors
from nimbus.network.models import FloatingIpRow, IpAllocationRow, PortRow, RouterPortRow, TagRow

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATING_IP = "network:floatingip"
ROUTER_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY)


async def before_port_delete(session: AsyncSession, port: PortRow) -> None:
    """409 L3PortInUse for a port a router or a floating IP still owns; otherwise forget the
    port's floating IP associations."""
    owned = await session.get(RouterPortRow, port.id)
    if owned is None and port.device_owner == FLOATING_IP:
        owned = await session.scalar(select(FloatingIpRow.id).where(
            FloatingIpRow.floating_port_id == port.id))
    if owned is not None:
        raise errors.L3PortInUse(port_id=port.id, device_owner=port.device_owner)
    await session.execute(update(FloatingIpRow).where(FloatingIpRow.fixed_port_id == port.id)
                          .values(fixed_port_id=None, fixed_ip_address=None, router_id=None,
                                  status="DOWN"))


async def before_network_delete(session: AsyncSession, network_id: str) -> None:
    """Floating IPs of the network that no port uses go with it, as in Neutron; an
    associated one keeps its port, which keeps the network in use."""
    free = (await session.execute(select(FloatingIpRow.id, FloatingIpRow.floating_port_id).where(
        FloatingIpRow.floating_network_id == network_id,
        FloatingIpRow.fixed_port_id.is_(None)))).all()
    if not free:
        return
    fip_ids, port_ids = [f for f, _ in free], [p for _, p in free]
    await session.execute(delete(FloatingIpRow).where(FloatingIpRow.id.in_(fip_ids)))
    await session.execute(delete(TagRow).where(TagRow.resource_id.in_(fip_ids + port_ids)))
    await session.execute(delete(IpAllocationRow).where(IpAllocationRow.port_id.in_(port_ids)))
    await session.execute(delete(PortRow).where(PortRow.id.in_(port_ids)))
