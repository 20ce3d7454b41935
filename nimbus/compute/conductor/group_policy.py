"""The late check of a hard server-group policy, as the conductor records a member's host.

The scheduler counts only members that already have a host, so two members scheduled at the
same time can both pick one host. Nova checks again on the compute host and reschedules; here
the conductor checks in the transaction that records the host:

    async with db.transaction(factory) as session:
        await group_policy.lock(session, spec)          # the transaction's first statement
        ... record the host, flush ...
        broken = await group_policy.violation(session, spec, instance_uuid, host)

`lock` takes the group's row for update, so two members of a group record their hosts one
after the other (PostgreSQL, MariaDB); SQLite has one writer at a time anyway, and the flushed
host write holds it. Whichever comes second sees the first's host and gives its own back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.models import InstanceRow, ServerGroupMemberRow, ServerGroupRow
from nimbus.compute.objects import RequestSpec

HARD_POLICIES = frozenset({"affinity", "anti-affinity"})


class PolicyViolated(Exception):
    """Recording the host would break the group's policy: schedule the member again."""


def applies(spec: RequestSpec) -> bool:
    return spec.group_uuid is not None and spec.group_policy in HARD_POLICIES


async def lock(session: AsyncSession, spec: RequestSpec) -> None:
    # NO KEY UPDATE (PostgreSQL): new members may still reference the group meanwhile.
    await session.execute(select(ServerGroupRow.id).where(
        ServerGroupRow.uuid == spec.group_uuid).with_for_update(key_share=True))


async def violation(session: AsyncSession, spec: RequestSpec, instance_uuid: str,
                    host: str) -> str | None:
    """Why `host` breaks the policy for this member, given where the others are; None if not."""
    rows = await session.execute(
        select(InstanceRow.host).join(ServerGroupMemberRow,
                                      ServerGroupMemberRow.instance_uuid == InstanceRow.uuid)
        .join(ServerGroupRow, ServerGroupRow.id == ServerGroupMemberRow.group_id)
        .where(ServerGroupRow.uuid == spec.group_uuid, InstanceRow.deleted_at.is_(None),
               InstanceRow.host.is_not(None), InstanceRow.uuid != instance_uuid))
    others = [h for (h,) in rows.all()]
    if spec.group_policy == "anti-affinity":
        limit = spec.group_max_per_host or 1
        if others.count(host) >= limit:
            return (f"Anti-affinity instance group policy was violated: {host} already has "
                    f"{others.count(host)} member(s) of group {spec.group_uuid}.")
    elif spec.group_policy == "affinity" and any(h != host for h in others):
        return (f"Affinity instance group policy was violated: members of group "
                f"{spec.group_uuid} are on another host than {host}.")
    return None
