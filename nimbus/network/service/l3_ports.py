"""What deleting a port means for routers and floating IPs, for the ports service to call.

Ports a router or a floating IP owns go with their owner, never through the port API
(409 L3PortInUse). A port that leaves takes its floating IP associations with it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.network import errors
from nimbus.network.models import FloatingIpRow, PortRow, RouterPortRow

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATING_IP = "network:floatingip"


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
