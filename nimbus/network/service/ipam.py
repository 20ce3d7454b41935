"""IP address management: never one address to two ports, on any database, under any load.

Three things hold that promise together:
- the primary key (subnet_id, ip_address) of `network_ip_allocations`: a second holder of an
  address cannot be written, whatever the code above does;
- an update of the subnet row before its allocations are read, which serialises allocations
  on one subnet (a row lock on PostgreSQL and MariaDB, the write lock on SQLite), so that a
  free address read is still free when written;
- a locking read of the allocations, which on MariaDB (repeatable read) sees the rows other
  transactions committed while this one waited, not its older snapshot.
The update also makes SQLite's driver open its transaction before the savepoint below (a
savepoint that opened the transaction would commit it on release).
A candidate that is taken anyway (the key refuses it, in a savepoint) is skipped for the next.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.network import errors
from nimbus.network.models import IpAllocationRow, SubnetRow
from nimbus.network.service import cidrs

# Candidates tried after the key refused one, before the request gives up with a 409.
MAX_COLLISIONS = 32


async def _lock_subnet(session: AsyncSession, subnet_id: str) -> None:
    await session.execute(update(SubnetRow).where(SubnetRow.id == subnet_id).values(
        ipam_generation=SubnetRow.ipam_generation + 1))


async def lock_subnets(session: AsyncSession, subnet_ids: list[str]) -> None:
    """Take the IPAM locks of several subnets up front, always in id order: two requests
    that touch the same subnets in different orders would otherwise deadlock."""
    for subnet_id in sorted(subnet_ids):
        await _lock_subnet(session, subnet_id)


async def _insert(session: AsyncSession, subnet: SubnetRow, port_id: str, ip: str) -> bool:
    """Whether `ip` was free and is now this port's."""
    try:
        async with session.begin_nested():
            session.add(IpAllocationRow(subnet_id=subnet.id, ip_address=ip, port_id=port_id,
                                        network_id=subnet.network_id))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def allocate_specific(session: AsyncSession, subnet: SubnetRow, port_id: str,
                            ip: str) -> str:
    """`ip` for the port, or 409 IpAddressAlreadyAllocated; 400 if the subnet cannot hold it."""
    if not cidrs.contains(cidrs.network(subnet.cidr), ip):
        raise errors.InvalidInput(error_message=f"IP address {ip} is not a valid IP for the "
                                                f"specified subnet.")
    await _lock_subnet(session, subnet.id)
    if not await _insert(session, subnet, port_id, ip):
        raise errors.IpAddressAlreadyAllocated(ip=ip, subnet_id=subnet.id)
    return ip


async def allocate_any(session: AsyncSession, subnet: SubnetRow, port_id: str) -> str | None:
    """The lowest free pool address of the subnet for the port, or None when the pools are
    exhausted (the caller tries another subnet or answers IpAddressGenerationFailure)."""
    await _lock_subnet(session, subnet.id)
    used = set((await session.scalars(
        select(IpAllocationRow.ip_address).where(IpAllocationRow.subnet_id == subnet.id)
        .with_for_update(read=True))).all())
    collisions = 0
    for candidate in cidrs.free_addresses(list(subnet.allocation_pools), used):
        if await _insert(session, subnet, port_id, candidate):
            return candidate
        collisions += 1
        if collisions >= MAX_COLLISIONS:
            break
    return None


async def release(session: AsyncSession, port_id: str, subnet_id: str, ip: str) -> None:
    row = await session.get(IpAllocationRow, (subnet_id, ip))
    if row is not None and row.port_id == port_id:
        await session.delete(row)
        await session.flush()
