"""The availability zone of each compute host, as Nova derives it.

A zone is not a thing of its own: a host is in the zone named by the `availability_zone`
metadata of an aggregate it belongs to, else in `compute.default_availability_zone`. The
aggregates API refuses to put a host in two zones, so the answer is unique.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.models import AggregateHostRow, AggregateMetadataRow

ZONE_KEY = "availability_zone"

# Built once: each boot asks twice (scheduler and conductor).
_ZONED = select(AggregateHostRow.host, AggregateMetadataRow.value).join(
    AggregateMetadataRow, AggregateMetadataRow.aggregate_id == AggregateHostRow.aggregate_id
).where(AggregateMetadataRow.key == ZONE_KEY)
_ZONED_OF = _ZONED.where(AggregateHostRow.host.in_(bindparam("hosts", expanding=True)))


async def zoned_hosts(session: AsyncSession,
                      hosts: Collection[str] | None = None) -> dict[str, str]:
    """host -> zone for the hosts (of `hosts`, or all) that an aggregate puts in a zone;
    a host left out is in the default zone."""
    if hosts is None:
        found = await session.execute(_ZONED)
    else:
        found = await session.execute(_ZONED_OF, {"hosts": list(hosts)})
    return {host: zone for host, zone in found.all()}
