"""os-quota-sets: a project's limits (per-project overrides over the configured defaults),
with usage for the detail view; admins set and reset them.

Per-user quotas are not kept: `user_id` reads and resets answer for the project (which is what
Nova shows a user without overrides of their own), and setting one is refused.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import delete, select

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import QuotaRow
from nimbus.compute.service import quotas
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

_WRITE_ATTEMPTS = 3


@dataclasses.dataclass(frozen=True)
class QuotaSet:
    project_id: str
    limits: dict[str, int]
    # Counted usage, for the detail view and limits; None when not asked for.
    in_use: dict[str, int] | None = None


async def get_quota_set(deps: ComputeDeps, ctx: RequestContext, project_id: str, *,
                        detail: bool = False) -> QuotaSet:
    rule = "os_compute_api:os-quota-sets:detail" if detail else "os_compute_api:os-quota-sets:show"
    deps.policy.authorize(rule, ctx, {"project_id": project_id})
    async with deps.read() as session:
        limits = await quotas.all_limits(session, deps.settings.compute.quotas, project_id)
        used = await quotas.in_use(session, project_id) if detail else None
    return QuotaSet(project_id, limits, used)


def get_defaults(deps: ComputeDeps, ctx: RequestContext, project_id: str) -> QuotaSet:
    deps.policy.authorize("os_compute_api:os-quota-sets:defaults", ctx, {"project_id": project_id})
    return QuotaSet(project_id, quotas.defaults(deps.settings.compute.quotas))


def _check_version(changes: dict[str, int], version: tuple[int, int]) -> None:
    dropped = [k for k in changes if k in quotas.hidden_at(version)]
    if dropped:
        names = ", ".join(repr(k) for k in dropped)
        verb = "was" if len(dropped) == 1 else "were"
        raise core_errors.BadRequest("Invalid input for field/attribute quota_set. Additional "
                                     f"properties are not allowed ({names} {verb} unexpected)")


async def update_quota_set(deps: ComputeDeps, ctx: RequestContext, project_id: str,
                           changes: dict[str, int], *, force: bool, user_id: str | None,
                           version: tuple[int, int]) -> QuotaSet:
    """Set limits; without `force`, none may go below what the project already uses.
    All or nothing: one bad value leaves every limit as it was."""
    _check_version(changes, version)
    deps.policy.authorize("os_compute_api:os-quota-sets:update", ctx, {"project_id": project_id})
    if user_id is not None:
        raise core_errors.BadRequest("Per-user quotas are not supported: set the project's.")
    for attempt in range(_WRITE_ATTEMPTS):
        try:
            async with deps.write() as session:
                if not force:
                    used = await quotas.in_use(session, project_id)
                    for resource, limit in changes.items():
                        if limit != -1 and limit < used[resource]:
                            raise errors.QuotaBelowUsage(limit=limit, resource=resource,
                                                         minimum=used[resource])
                rows = {r.resource: r for r in (await session.execute(select(QuotaRow).where(
                    QuotaRow.project_id == project_id))).scalars()}
                for resource, limit in changes.items():
                    if resource in rows:
                        rows[resource].hard_limit = limit
                    else:
                        session.add(QuotaRow(project_id=project_id, resource=resource,
                                             hard_limit=limit))
            break
        except core_errors.Conflict:
            # Another update inserted the same override first: read again and apply ours.
            if attempt == _WRITE_ATTEMPTS - 1:
                raise
    async with deps.read() as session:
        limits = await quotas.all_limits(session, deps.settings.compute.quotas, project_id)
    return QuotaSet(project_id, limits)


async def delete_quota_set(deps: ComputeDeps, ctx: RequestContext, project_id: str, *,
                           user_id: str | None) -> None:
    """Back to the defaults. Idempotent; a user's reset is a no-op (no per-user overrides)."""
    deps.policy.authorize("os_compute_api:os-quota-sets:delete", ctx, {"project_id": project_id})
    if user_id is not None:
        return
    async with deps.write() as session:
        await session.execute(delete(QuotaRow).where(QuotaRow.project_id == project_id))
