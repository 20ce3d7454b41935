"""Glance v2 as an ASGI app: `build_app(deps, validator)`, and the periodic work of the process
serving it: `periodic_jobs(deps)`."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from nimbus.core.auth import TokenValidator
from nimbus.core.http import create_app, glance_error_body
from nimbus.core.periodic import Periodic
from nimbus.image.api import data, images, info, members, schemas, versions
from nimbus.image.deps import ImageDeps
from nimbus.image.service import data as data_service

_PUBLIC = {("GET", "/"), ("HEAD", "/"), ("GET", "/versions"), ("HEAD", "/versions")}


def _is_public(method: str, path: str) -> bool:
    return (method, path.rstrip("/") or "/") in _PUBLIC


def build_app(deps: ImageDeps, validator: TokenValidator) -> FastAPI:
    app = create_app(service="image", render_error=glance_error_body, validator=validator,
                     is_public=_is_public)
    # `GET /v2/images/` must be a 404 (an empty image id), not a redirect to the list.
    app.router.redirect_slashes = False
    app.state.image = deps
    deps.on_start.append(functools.partial(data_service.recover, deps))
    for module in (versions, images, data, members, schemas, info):
        app.include_router(module.router)
    return app


def periodic_jobs(deps: ImageDeps) -> list[Periodic]:
    """Recovery of what image API processes that died left half done (start-up runs it too)."""
    return [Periodic("image-recover", functools.partial(data_service.recover, deps),
                     interval=deps.config.upload_lease_seconds / 2)]
