"""Builds each service's pieces from settings; the only place concrete classes are chosen."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import httpx
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from nimbus.cmd.mounts import MountDispatch
from nimbus.compute import bootstrap as compute_bootstrap
from nimbus.compute import policy as compute_policy
from nimbus.compute import rpcapi
from nimbus.compute.api import build_app as build_compute_app
from nimbus.compute.deps import ComputeDeps
from nimbus.core import db
from nimbus.core.clients.image import ImageClient
from nimbus.core.clients.network import NetworkClient
from nimbus.core.clients.volume import VolumeClient
from nimbus.core.config import Settings
from nimbus.core.periodic import Periodic
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
from nimbus.image.api import periodic_jobs as image_periodic_jobs
from nimbus.image.deps import ImageDeps
from nimbus.image.store import STORES as IMAGE_STORES
from nimbus.network import policy as network_policy
from nimbus.network.api import build_app as build_network_app
from nimbus.network.deps import NetworkDeps
from nimbus.placement import policy as placement_policy
from nimbus.placement.api import build_app as build_placement_app
from nimbus.placement.deps import PlacementDeps
from nimbus.volume import policy as volume_policy
from nimbus.volume import rpcapi as volume_rpcapi
from nimbus.volume.api import build_app as build_volume_app
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.service import types as volume_types

IDENTITY_MIGRATIONS = Path(__file__).resolve().parent.parent / "identity" / "migrations"
COMPUTE_MIGRATIONS = Path(__file__).resolve().parent.parent / "compute" / "migrations"
IMAGE_MIGRATIONS = Path(__file__).resolve().parent.parent / "image" / "migrations"
PLACEMENT_MIGRATIONS = Path(__file__).resolve().parent.parent / "placement" / "migrations"
NETWORK_MIGRATIONS = Path(__file__).resolve().parent.parent / "network" / "migrations"
VOLUME_MIGRATIONS = Path(__file__).resolve().parent.parent / "volume" / "migrations"

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
    await db.migrate(database.engine, VOLUME_MIGRATIONS, "volume")


def identity_deps(settings: Settings, database: Database) -> IdentityDeps:
    return IdentityDeps(settings=settings, db=database.factory,
                        keys=KeyRepository(settings.token_key_dir),
                        policy=Enforcer(identity_policy.DEFAULTS, settings.policy_file))


def compute_deps(settings: Settings, database: Database, transport: Transport,
                 http: httpx.AsyncClient) -> ComputeDeps:
    return ComputeDeps(settings=settings, db=database.factory,
                       policy=Enforcer(compute_policy.DEFAULTS, settings.policy_file),
                       images=ImageClient(http, f"{settings.base_url}/image"),
                       network=NetworkClient(http, f"{settings.base_url}/network"),
                       volumes=VolumeClient(http, f"{settings.base_url}/volume"),
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


def volume_deps(settings: Settings, database: Database, transport: Transport,
                http: httpx.AsyncClient) -> VolumeDeps:
    return VolumeDeps(settings=settings, db=database.factory,
                      policy=Enforcer(volume_policy.DEFAULTS, settings.policy_file),
                      images=ImageClient(http, f"{settings.base_url}/image"),
                      scheduler=volume_rpcapi.SchedulerAPI(transport),
                      volumes=volume_rpcapi.VolumeAPI(transport))


@dataclasses.dataclass
class Services:
    """Each built service's collaborators, for the all-in-one process and the tests."""

    identity: IdentityDeps
    compute: ComputeDeps
    image: ImageDeps
    placement: PlacementDeps
    network: NetworkDeps
    volume: VolumeDeps


def api_periodic_jobs(built: Services) -> list[Periodic]:
    """What the process serving the APIs runs in the background."""
    return image_periodic_jobs(built.image)


def services(settings: Settings, database: Database, transport: Transport,
             http: httpx.AsyncClient) -> Services:
    """`http` carries calls between services (the API's image lookups, say)."""
    return Services(identity=identity_deps(settings, database),
                    compute=compute_deps(settings, database, transport, http),
                    image=image_deps(settings, database),
                    placement=placement_deps(settings, database),
                    network=network_deps(settings, database),
                    volume=volume_deps(settings, database, transport, http))


async def bootstrap_all(settings: Settings, database: Database, *, admin_password: str,
                        service_password: str) -> None:
    """Idempotent: what a new cloud needs before its first request."""
    await identity_bootstrap.bootstrap(identity_deps(settings, database),
                                       admin_password=admin_password,
                                       service_password=service_password)
    await compute_bootstrap.bootstrap(database.factory)
    await volume_types.ensure_default_type(database.factory, settings.volume.default_volume_type)


def all_in_one_app(built: Services) -> MountDispatch:
    """Every service's API under its prefix on one port."""
    validator = LocalTokenValidator(built.identity)
    mounted: dict[str, Mount] = {
        "identity": Mount("/identity", app=build_identity_app(built.identity, validator)),
        "compute": Mount("/compute", app=build_compute_app(built.compute, validator)),
        "image": Mount("/image", app=build_image_app(built.image, validator)),
        "placement": Mount("/placement", app=build_placement_app(built.placement, validator)),
        "network": Mount("/network", app=build_network_app(built.network, validator)),
        "volume": Mount("/volume", app=build_volume_app(built.volume, validator)),
    }
    routes: list[Route | Mount] = list(mounted.values())

    async def root(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"services": {name: f"{base}{m.path}" for name, m in mounted.items()}})

    routes.append(Route("/", root))
    return MountDispatch(Starlette(routes=routes))
