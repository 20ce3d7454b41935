"""`/v2/info/*`: import methods, stores and quota usage, as this site has them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nimbus.core.http import Ctx
from nimbus.image.deps import Deps
from nimbus.image.service import info

router = APIRouter(prefix="/v2/info")

_MIB = 1 << 20
# Glance counts these limits in MiB.
_IN_MIB = ("image_size_total", "image_stage_total")


@router.get("/import")
async def import_info(ctx: Ctx) -> dict[str, Any]:
    return {"import-methods": {"description": "Import methods available.", "type": "array",
                               "value": info.import_methods()}}


@router.get("/stores")
async def stores(deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"stores": info.stores(deps)}


@router.get("/stores/detail")
async def stores_detail(deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"stores": info.stores_detail(deps, ctx)}


def _mib(value: int) -> int:
    return value if value < 0 else -(-value // _MIB)


@router.get("/usage")
async def usage(deps: Deps, ctx: Ctx) -> dict[str, Any]:
    found = await info.usage(deps, ctx)
    return {"usage": {name: {"limit": _mib(limit) if name in _IN_MIB else limit,
                             "usage": _mib(found.usage[name]) if name in _IN_MIB
                             else found.usage[name]}
                      for name, limit in found.limits.items()}}
