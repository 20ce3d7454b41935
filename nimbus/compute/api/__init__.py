"""Nova v2.1 as an ASGI app: `build_app(deps, validator)`."""

from __future__ import annotations

from fastapi import FastAPI

from nimbus.compute.api import (
    aggregates,
    availability_zones,
    flavors,
    hypervisors,
    interfaces,
    ips,
    keypairs,
    limits,
    migrations,
    quota_sets,
    server_actions,
    server_groups,
    server_metadata,
    server_tags,
    servers,
    services,
    versions,
    volume_attachments,
)
from nimbus.compute.api.versioning import MICROVERSIONS
from nimbus.compute.deps import ComputeDeps
from nimbus.core.auth import TokenValidator
from nimbus.core.http import create_app, nova_error_body

_PUBLIC_PATHS = {"/", "/v2.1", "/v2.1/"}


def _is_public(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") and path in _PUBLIC_PATHS


def build_app(deps: ComputeDeps, validator: TokenValidator) -> FastAPI:
    # Nova still sends its legacy x-compute-request-id next to x-openstack-request-id.
    app = create_app(service="compute", render_error=nova_error_body, validator=validator,
                     is_public=_is_public, extra_request_id_header="x-compute-request-id",
                     response_headers=MICROVERSIONS.response_headers)
    app.state.compute = deps
    # FastAPI tries routes in order: /servers, which every boot and status poll asks for,
    # first. No URL matches routes of two of these routers, so the order changes no answer.
    for module in (servers, versions, flavors, keypairs, server_actions, server_metadata,
                   server_tags, ips, server_groups, services, hypervisors, availability_zones,
                   limits, quota_sets, aggregates, interfaces, migrations, volume_attachments):
        app.include_router(module.router)
    return app
