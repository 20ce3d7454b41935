"""Discovery: what this site offers (`/v2/info/import`, `/v2/info/stores`, `/v2/info/usage`)."""

from __future__ import annotations

from typing import Any

from nimbus.core.context import RequestContext
from nimbus.image.deps import ImageDeps
from nimbus.image.domain import IMPORT_METHODS, Usage
from nimbus.image.service import quotas

STORE_DESCRIPTION = "Files under the Nimbus state directory"


def import_methods() -> list[str]:
    # web-download and glance-download are off: they fetch from networks this cloud may not
    # reach, and copy-image needs a second store.
    return list(IMPORT_METHODS)


def stores(deps: ImageDeps) -> list[dict[str, Any]]:
    return [{"id": deps.store.store_id, "description": STORE_DESCRIPTION, "default": "true"}]


def stores_detail(deps: ImageDeps, ctx: RequestContext) -> list[dict[str, Any]]:
    deps.policy.authorize("image:stores_info_detail", ctx, {})
    return [{**entry, "type": "file", "weight": 0, "properties": deps.store.describe()}
            for entry in stores(deps)]


async def usage(deps: ImageDeps, ctx: RequestContext) -> Usage:
    deps.policy.authorize("image:get_images", ctx, {"project_id": ctx.project_id})
    async with deps.read() as session:
        return await quotas.usage(session, deps.config, ctx.project_id)
