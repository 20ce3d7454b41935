"""The all-in-one's front door: a request under a service's prefix goes straight to that
service's app, with the scope Starlette's `Mount` would have given it; anything else (the
root document, unknown paths, the slash redirects, a scope with a `root_path`, lifespan)
goes to the Starlette app whose mounts these are, which answers as it always did.

    app = MountDispatch(Starlette(routes=[Mount("/compute", app=compute), Route("/", root)]))

Starlette's app, its two middlewares, its router and the mounts' patterns, tried one after
another, were about a fifth of the server CPU of a cheap request (a version document), and
every request, the services' calls to each other included, passed through them on its way to
a service. Here it is one pattern match and four scope keys.
"""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send


class MountDispatch:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.router = app.router
        self.mounts: dict[str, Mount] = {}
        # The mounts Starlette tries first, those without parameters of their own.
        for route in app.routes:
            if not (isinstance(route, Mount) and route.path
                    and route.param_convertors.keys() == {"path"}):
                break
            self.mounts.setdefault(route.path.removeprefix("/"), route)
        # Mount("/compute") matches "^/compute/(?P<path>.*)$"; the same, for all at once.
        names = "|".join(re.escape(name) for name in self.mounts)
        self.pattern = re.compile(f"^/(?P<mount>{names})/(?P<path>.*)$")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (self.pattern.match(scope["path"])
                 if self.mounts and scope["type"] in ("http", "websocket")
                 and not scope.get("root_path") else None)
        if match is None:
            await self.app(scope, receive, send)
            return
        mount = self.mounts[match["mount"]]
        # What Starlette's Router and Mount.matches put in the scope on the way in.
        path: str = scope["path"]
        scope.setdefault("router", self.router)
        scope["route"] = mount
        scope["path_params"] = dict(scope.get("path_params", {}))
        scope["app_root_path"] = scope.get("app_root_path", "")
        scope["root_path"] = path[:-len("/" + match["path"])]
        scope["endpoint"] = mount.app
        await mount.app(scope, receive, send)
