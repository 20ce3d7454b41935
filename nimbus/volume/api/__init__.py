"""Cinder v3 as an ASGI app: `build_app(deps, validator)`."""

from __future__ import annotations

from fastapi import FastAPI

from nimbus.core.auth import TokenValidator
from nimbus.core.http import create_app, nova_error_body
from nimbus.volume.api import (
    attachments,
    extensions,
    messages,
    operators,
    snapshots,
    types,
    versions,
    volume_actions,
    volumes,
)
from nimbus.volume.api.common import MICROVERSIONS
from nimbus.volume.deps import VolumeDeps

_PUBLIC_PATHS = {"/", "/v3", "/v3/"}


def _is_public(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") and path in _PUBLIC_PATHS


def build_app(deps: VolumeDeps, validator: TokenValidator) -> FastAPI:
    # Cinder's wsgi Fault names the error key by status exactly as Nova's does.
    app = create_app(service="volume", render_error=nova_error_body, validator=validator,
                     is_public=_is_public, response_headers=MICROVERSIONS.response_headers)
    app.state.volume = deps
    # `/volumes/` is no volume: Cinder answers 404, never a redirect to the list.
    app.router.redirect_slashes = False
    for module in (versions, volumes, volume_actions, snapshots, types, attachments, operators,
                   extensions, messages):
        app.include_router(module.router)
    return app
