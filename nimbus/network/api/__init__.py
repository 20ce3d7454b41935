"""Neutron v2.0 as an ASGI app: `build_app(deps, validator)`."""

from __future__ import annotations

from fastapi import FastAPI

from nimbus.core.auth import TokenValidator
from nimbus.core.http import create_app, neutron_error_body
from nimbus.network.api import (
    auto_allocation,
    floating_ips,
    ip_availability,
    networks,
    ports,
    quotas,
    routers,
    security_groups,
    subnets,
    tags,
    versions,
)
from nimbus.network.deps import NetworkDeps


def _is_public(method: str, path: str) -> bool:
    # Version discovery needs no token, as in Neutron.
    return method in ("GET", "HEAD") and path in ("/", "")


def build_app(deps: NetworkDeps, validator: TokenValidator) -> FastAPI:
    app = create_app(service="network", render_error=neutron_error_body, validator=validator,
                     is_public=_is_public)
    app.router.redirect_slashes = False
    app.state.network = deps
    for module in (versions, networks, subnets, ports, quotas, ip_availability, tags,
                   security_groups, routers, floating_ips, auto_allocation):
        app.include_router(module.router)
    return app
