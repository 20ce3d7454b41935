"""Request plumbing shared by network's routers: JSON bodies and list replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request

from nimbus.core.context import RequestContext
from nimbus.network import views
from nimbus.network.deps import NetworkDeps
from nimbus.network.errors import HTTPBadRequest
from nimbus.network.service import listing

Lister = Callable[[NetworkDeps, RequestContext, listing.ListQuery],
                  Awaitable[list[dict[str, Any]]]]


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise HTTPBadRequest(detail="Resource body required")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPBadRequest(detail="Malformed request body") from None


async def list_reply(request: Request, deps: NetworkDeps, ctx: RequestContext, resource: str,
                     lister: Lister, *, collection: str | None = None,
                     id_key: str = "id") -> dict[str, Any]:
    """`{"<resources>": [...]}` with `<resources>_links` when the client pages."""
    params = list(request.query_params.multi_items())
    query = listing.parse(params)
    collection = collection or f"{resource}s"
    items = await lister(deps, ctx, query)
    url = str(request.url).split("?", 1)[0]
    page, links = listing.apply(items, query, url=url, params=params, id_key=id_key)
    reply: dict[str, Any] = {
        collection: views.shape_all(deps, ctx, resource, page, views.fields_of(params))}
    if links:
        reply[f"{collection}_links"] = links
    return reply
