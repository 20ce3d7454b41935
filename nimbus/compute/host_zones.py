"""The availability zone of each compute host, as Nova derives it.

A zone is not a thing of its own: a host is in the zone named by the `availability_zone`
metadata of an aggregate it belongs to, else in `compute.default_availability_zone`. The
aggregates API refuses to put a host in two zones, so the answer is unique.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.models import AggregateHostRow, AggregateMetadataRow

ZONE_KEY = "availability_zone"


async def zoned_hosts(session: AsyncSession,
                      hosts: Collection[str] | None = None) -> dict[str, str]:
    """host -> zone for the hosts (of `hosts`, or all) that an aggregate puts in a zone;
    a host left out is in the default zone."""
    query = select(AggregateHostRow.host, AggregateMetadataRow.value).join(
        AggregateMetadataRow, AggregateMetadataRow.aggregate_id == AggregateHostRow.aggregate_id
    ).where(AggregateMetadataRow.key == ZONE_KEY)
    if hosts is not None:
        query = query.where(AggregateHostRow.host.in_(list(hosts)))
    return {host: zone for host, zone in (await session.execute(query)).all()}
