"""Builds each service's pieces from settings; the only place concrete classes are chosen."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from nimbus.compute import bootstrap as compute_bootstrap
from nimbus.compute import policy as compute_policy
from nimbus.compute import rpcapi
from nimbus.compute.api import build_app as build_compute_app
from nimbus.compute.deps import ComputeDeps
from nimbus.core import db, errors
from nimbus.core.clients.image import ImageClient
from nimbus.core.config import Settings
from nimbus.core.http import ErrorRenderer, create_app, nova_error_body
from nimbus.core.policy import Enforcer
from nimbus.core.rpc import Transport
from nimbus.core.service import MIGRATIONS as CORE_MIGRATIONS
from nimbus.core.tokens import KeyRepository
from nimbus.identity import bootstrap as identity_bootstrap
from nimbus.identity import policy as identity_policy
from nimbus.identity.api import build_app as build_identity_app
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.validator import LocalTokenValidator
from nimbus.image import policy as image_policy
from nimbus.image.api import build_app as build_image_app
from nimbus.image.deps import ImageDeps
from nimbus.image.store import STORES as IMAGE_STORES
from nimbus.network import policy as network_policy
from nimbus.network.api import build_app as build_network_app
from nimbus.network.deps import NetworkDeps
from nimbus.placement import policy as placement_policy
from nimbus.placement.api import build_app as build_placement_app
from nimbus.placement.deps import PlacementDeps

IDENTITY_MIGRATIONS = Path(__file__).resolve().parent.parent / "identity" / "migrations"
COMPUTE_MIGRATIONS = Path(__file__).resolve().parent.parent / "compute" / "migrations"
IMAGE_MIGRATIONS = Path(__file__).resolve().parent.parent / "image" / "migrations"
PLACEMENT_MIGRATIONS = Path(__file__).resolve().parent.parent / "placement" / "migrations"
NETWORK_MIGRATIONS = Path(__file__).resolve().parent.parent / "network" / "migrations"

# The services of ARCHITECTURE.md whose issues have not landed yet: prefix, error shape.
NOT_BUILT: dict[str, tuple[str, ErrorRenderer]] = {
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
    await db.migrate(database.engine, COMPUTE_MIGRATIONS, "compute")
    await db.migrate(database.engine, IMAGE_MIGRATIONS, "image")
    await db.migrate(database.engine, PLACEMENT_MIGRATIONS, "placement")
    await db.migrate(database.engine, NETWORK_MIGRATIONS, "network")


def identity_deps(settings: Settings, database: Database) -> IdentityDeps:
    return IdentityDeps(settings=settings, db=database.factory,
                        keys=KeyRepository(settings.token_key_dir),
                        policy=Enforcer(identity_policy.DEFAULTS, settings.policy_file))


def compute_deps(settings: Settings, database: Database, transport: Transport,
                 http: httpx.AsyncClient) -> ComputeDeps:
    return ComputeDeps(settings=settings, db=database.factory,
                       policy=Enforcer(compute_policy.DEFAULTS, settings.policy_file),
                       images=ImageClient(http, f"{settings.base_url}/image"),
                       conductor=rpcapi.ConductorAPI(transport),
                       agents=rpcapi.ComputeAgentAPI(transport))


def image_deps(settings: Settings, database: Database) -> ImageDeps:
    return ImageDeps(settings=settings, db=database.factory,
                     policy=Enforcer(image_policy.DEFAULTS, settings.policy_file),
                     store=IMAGE_STORES[settings.image.store](settings.image_dir / "file"),
                     staging=IMAGE_STORES["file"](settings.image_dir / "staging",
                                                  store_id="os_glance_staging_store"),
                     qemu_img=shutil.which("qemu-img"))


def placement_deps(settings: Settings, database: Database) -> PlacementDeps:
    return PlacementDeps(settings=settings, db=database.factory,
                         policy=Enforcer(placement_policy.DEFAULTS, settings.policy_file))


def network_deps(settings: Settings, database: Database) -> NetworkDeps:
    return NetworkDeps(settings=settings, db=database.factory,
                       policy=Enforcer(network_policy.DEFAULTS, settings.policy_file))


def not_built_app(service: str, render_error: ErrorRenderer) -> FastAPI:
    app = create_app(service=service, render_error=render_error, validator=None)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
    async def not_built(path: str) -> None:
        raise errors.NotImplementedYet(what=f"The {service} service")

    return app


@dataclasses.dataclass
class Services:
    """Each built service's collaborators, for the all-in-one process and the tests."""

    identity: IdentityDeps
    compute: ComputeDeps
    image: ImageDeps
    placement: PlacementDeps
    network: NetworkDeps


def services(settings: Settings, database: Database, transport: Transport,
             http: httpx.AsyncClient) -> Services:
    """`http` carries calls between services (the API's image lookups, say)."""
    return Services(identity=identity_deps(settings, database),
                    compute=compute_deps(settings, database, transport, http),
                    image=image_deps(settings, database),
                    placement=placement_deps(settings, database),
                    network=network_deps(settings, database))


async def bootstrap_all(settings: Settings, database: Database, *, admin_password: str,
                        service_password: str) -> None:
    """Idempotent: what a new cloud needs before its first request."""
    await identity_bootstrap.bootstrap(identity_deps(settings, database),
                                       admin_password=admin_password,
                                       service_password=service_password)
    await compute_bootstrap.bootstrap(database.factory)


def all_in_one_app(built: Services) -> Starlette:
    """Every service's API under its prefix on one port."""
    validator = LocalTokenValidator(built.identity)
    mounted: dict[str, Mount] = {
        "identity": Mount("/identity", app=build_identity_app(built.identity, validator)),
        "compute": Mount("/compute", app=build_compute_app(built.compute, validator)),
        "image": Mount("/image", app=build_image_app(built.image, validator)),
        "placement": Mount("/placement", app=build_placement_app(built.placement, validator)),
        "network": Mount("/network", app=build_network_app(built.network, validator)),
    }
    for service, (prefix, renderer) in NOT_BUILT.items():
        mounted[service] = Mount(prefix, app=not_built_app(service, renderer))
    routes: list[Route | Mount] = list(mounted.values())

    async def root(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"services": {name: f"{base}{m.path}" for name, m in mounted.items()}})

    routes.append(Route("/", root))
    return Starlette(routes=routes)
