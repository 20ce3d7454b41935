"""Builds each service's pieces from settings; the only place concrete classes are chosen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from nimbus.core import db, errors
from nimbus.core.config import Settings
from nimbus.core.http import ErrorRenderer, create_app, glance_error_body, neutron_error_body, nova_error_body
from nimbus.core.policy import Enforcer
from nimbus.core.service import MIGRATIONS as CORE_MIGRATIONS
from nimbus.core.tokens import KeyRepository
from nimbus.identity import policy as identity_policy
from nimbus.identity.api import build_app as build_identity_app
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.validator import LocalTokenValidator

IDENTITY_MIGRATIONS = Path(__file__).resolve().parent.parent / "identity" / "migrations"

# The services of ARCHITECTURE.md whose issues have not landed yet: prefix, error shape.
NOT_BUILT: dict[str, tuple[str, ErrorRenderer]] = {
    "compute": ("/compute", nova_error_body),
    "placement": ("/placement", nova_error_body),
    "image": ("/image", glance_error_body),
    "network": ("/network", neutron_error_body),
    "volume": ("/volume", nova_error_body),
}


@dataclasses.dataclass
class Database:
    engine: AsyncEngine
    factory: db.SessionFactory

    async def aclose(self) -> None:
        await self.engine.dispose()


def open_database(settings: Settings) -> Database:
    engine = db.make_engine(settings.database_url, echo=settings.database.echo)
    return Database(engine, db.make_session_factory(engine))


async def migrate_all(database: Database) -> None:
    await db.migrate(database.engine, CORE_MIGRATIONS, "core")
    await db.migrate(database.engine, IDENTITY_MIGRATIONS, "identity")


def identity_deps(settings: Settings, database: Database) -> IdentityDeps:
    return IdentityDeps(settings=settings, db=database.factory,
                        keys=KeyRepository(settings.token_key_dir),
                        policy=Enforcer(identity_policy.DEFAULTS, settings.policy_file))


def not_built_app(service: str, render_error: ErrorRenderer) -> FastAPI:
    app = create_app(service=service, render_error=render_error, validator=None)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
    async def not_built(path: str) -> None:
        raise errors.NotImplementedYet(what=f"The {service} service")

    return app


def all_in_one_app(settings: Settings, ident: IdentityDeps) -> Starlette:
    """Every service's API under its prefix on one port."""
    identity_app = build_identity_app(ident, LocalTokenValidator(ident))
    routes: list[Route | Mount] = [Mount("/identity", app=identity_app)]
    for service, (prefix, renderer) in NOT_BUILT.items():
        routes.append(Mount(prefix, app=not_built_app(service, renderer)))

    async def root(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"services": {
            "identity": f"{base}/identity", **{s: f"{base}{p}" for s, (p, _) in NOT_BUILT.items()}}})

    routes.append(Route("/", root))
    return Starlette(routes=routes)
