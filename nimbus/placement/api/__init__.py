"""Placement as an ASGI app: `build_app(deps, validator)`."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware

from nimbus.core.auth import TokenValidator
from nimbus.core.http import create_app
from nimbus.placement.api import (
    aggregates,
    allocation_candidates,
    allocations,
    inventories,
    reshaper,
    resource_classes,
    resource_providers,
    traits,
    usages,
    versions,
)
from nimbus.placement.api.faults import placement_error_body
from nimbus.placement.api.microversion import MicroversionMiddleware
from nimbus.placement.deps import PlacementDeps


def _is_public(method: str, path: str) -> bool:
    # Version discovery needs no token, as in Placement.
    return method in ("GET", "HEAD") and path in ("/", "")


def build_app(deps: PlacementDeps, validator: TokenValidator) -> FastAPI:
    app = create_app(service="placement", render_error=placement_error_body, validator=validator,
                     is_public=_is_public)
    app.state.placement = deps
    # Innermost of the user middleware, so that request ids and auth run first and the version
    # is known to every handler and error renderer below it.
    app.user_middleware.append(Middleware(MicroversionMiddleware))
    # Routes are tried in order, one regular expression each: the two requests of every boot's
    # scheduling (candidates, then the claim) come first. No path has routes in two modules,
    # so the order changes no answer (not even a 405's Allow).
    for module in (allocation_candidates, allocations, versions, resource_providers, inventories,
                   aggregates, traits, resource_classes, usages, reshaper):
        app.include_router(module.router)
    return app
