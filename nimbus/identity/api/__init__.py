"""Keystone v3 as an ASGI app: `build_app(deps, validator)`."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Route

from nimbus.core.auth import TokenValidator
from nimbus.core.http import create_app, keystone_error_body
from nimbus.identity.api import (
    app_creds,
    assignments,
    auth,
    catalog,
    credentials,
    domains,
    groups,
    projects,
    roles,
    users,
    versions,
)
from nimbus.identity.deps import IdentityDeps

_PUBLIC = {("GET", "/"), ("GET", "/v3"), ("GET", "/v3/"), ("POST", "/v3/auth/tokens"),
           ("HEAD", "/"), ("HEAD", "/v3")}


def _is_public(method: str, path: str) -> bool:
    return (method, path.rstrip("/") or "/") in _PUBLIC or (method, path) in _PUBLIC


def build_app(deps: IdentityDeps, validator: TokenValidator) -> FastAPI:
    app = create_app(service="identity", render_error=keystone_error_body, validator=validator,
                     is_public=_is_public,
                     www_authenticate=f'Keystone uri="{deps.settings.identity_base_url}"')
    app.state.identity = deps
    for module in (versions, auth, domains, projects, users, groups, roles, assignments,
                   catalog, app_creds, credentials):
        app.include_router(module.router)
    # Every API request in a multi-node cloud validates a token here: first in the route list,
    # so that matching does not walk every included router. Starlette answers HEAD (Keystone's
    # "check token") with the same route, minus the body.
    app.router.routes.insert(0, Route("/v3/auth/tokens", auth.validate_token, methods=["GET"]))
    return app
