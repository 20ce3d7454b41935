"""`/v2/schemas/{name}`: the JSON schemas of image, images, member and members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nimbus.core import errors
from nimbus.core.http import Ctx
from nimbus.image.schemas import SCHEMAS

router = APIRouter(prefix="/v2/schemas")


@router.get("/{name}")
async def show_schema(name: str, ctx: Ctx) -> dict[str, Any]:
    if name not in SCHEMAS:
        raise errors.NotFound(f"Schema {name} not found.")
    return SCHEMAS[name]()
