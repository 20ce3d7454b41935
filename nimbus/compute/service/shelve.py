"""Shelve, shelveOffload and unshelve (Nova's os-shelve).

Shelving snapshots the server into an image and stops it (SHELVED); offloading then frees its
host and the host's placement allocation (SHELVED_OFFLOADED), at once when
`shelved_offload_time` is 0, or that many seconds later by the host's periodic task.
Unshelving starts it again where it is, or, offloaded, has the conductor schedule it anew and
build it from the image, which is deleted afterwards. The image and where the server was
shelved stay in its system_metadata meanwhile.
"""

from __future__ import annotations

from typing import Any

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.service import availability_zones, lifecycle, snapshots
from nimbus.compute.states import TaskState, VmState
from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

SHELVE_FROM = (VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED)
SHELVED_KEYS = ("shelved_at", "shelved_image_id", "shelved_host")


def without_shelved(system_metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in system_metadata.items() if k not in SHELVED_KEYS}


async def shelve(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    async with deps.read() as session:
        row = await lifecycle.checked_row(session, deps, ctx, server_id, action="shelve",
                                          rule="os_compute_api:os-shelve:shelve",
                                          allowed=SHELVE_FROM)
    image = await snapshots.image_for(deps, ctx, row, f"{row.display_name}-shelved", {},
                                      "snapshot")
    try:
        async with deps.write() as session:
            row = await lifecycle.checked_row(session, deps, ctx, server_id, action="shelve",
                                              rule="os_compute_api:os-shelve:shelve",
                                              allowed=SHELVE_FROM)
            await lifecycle.begin(session, ctx, row, action="shelve", task=TaskState.SHELVING,
                                  updates={"system_metadata": {
                                      **row.system_metadata,
                                      "shelved_at": db.utcnow().isoformat(),
                                      "shelved_image_id": image["id"],
                                      "shelved_host": row.host}})
            host = row.host
    except Exception:
        await deps.images.delete_image(ctx.auth_token or "", image["id"])
        raise
    assert host is not None
    await deps.agents.shelve_instance(ctx, host, server_id, image["id"],
                                      offload=deps.settings.compute.shelved_offload_time == 0)


async def shelve_offload(deps: ComputeDeps, ctx: RequestContext, server_id: str) -> None:
    async with deps.write() as session:
        row = await lifecycle.checked_row(session, deps, ctx, server_id, action="shelveOffload",
                                          rule="os_compute_api:os-shelve:shelve_offload",
                                          allowed=(VmState.SHELVED,))
        await lifecycle.begin(session, ctx, row, action="shelveOffload",
                              task=TaskState.SHELVING_OFFLOADING)
        host = row.host
    assert host is not None
    await deps.agents.shelve_offload_instance(ctx, host, server_id)


async def unshelve(deps: ComputeDeps, ctx: RequestContext, server_id: str, zone: str | None,
                   version: tuple[int, int]) -> None:
    if zone is not None:
        if version < (2, 77):
            raise core_errors.BadRequest("availability_zone needs microversion 2.77 or later")
        if zone not in {z.name for z in await availability_zones.list_zones(deps, ctx)}:
            raise core_errors.BadRequest(f"The requested availability zone is not available: "
                                         f"{zone}")
    async with deps.write() as session:
        row = await lifecycle.checked_row(session, deps, ctx, server_id, action="unshelve",
                                          rule="os_compute_api:os-shelve:unshelve",
                                          allowed=(VmState.SHELVED, VmState.SHELVED_OFFLOADED),
                                          needs_host=False)
        if zone is not None and row.vm_state == VmState.SHELVED:
            raise errors.InstanceInvalidState(
                action="unshelve to an availability zone", server_id=server_id,
                attr="vm_state", state=row.vm_state)
        await lifecycle.begin(session, ctx, row, action="unshelve", task=TaskState.UNSHELVING)
        host = row.host if row.vm_state == VmState.SHELVED else None
        image_id = row.system_metadata.get("shelved_image_id")
        kept = without_shelved(row.system_metadata)
    if host is not None:
        await deps.agents.unshelve_on_host(ctx, host, server_id, image_id, kept)
    else:
        await deps.conductor.unshelve_instance(ctx, server_id, zone)
