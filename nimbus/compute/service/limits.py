"""`/limits`: the caller's project limits with its usage (an admin may ask for another's)."""

from __future__ import annotations

from nimbus.compute.deps import ComputeDeps
from nimbus.compute.service import quotas
from nimbus.compute.service.quota_sets import QuotaSet
from nimbus.core.context import RequestContext


async def get_limits(deps: ComputeDeps, ctx: RequestContext, tenant_id: str | None) -> QuotaSet:
    deps.policy.authorize("os_compute_api:limits", ctx, {"project_id": ctx.project_id})
    project_id = ctx.project_id or ""
    if tenant_id is not None:
        deps.policy.authorize("os_compute_api:limits:other_project", ctx,
                              {"project_id": tenant_id})
        project_id = tenant_id
    async with deps.read() as session:
        limits = await quotas.all_limits(session, deps.settings.compute.quotas, project_id)
        used = await quotas.in_use(session, project_id)
    return QuotaSet(project_id, limits, used)
