"""`nimbus bootstrap`: the identity objects a new cloud needs, created once.

Idempotent: a second run finds what exists and only fills gaps (and re-points the catalog
when the public URL changed), so every user, project and token key survives a restart.
"""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import (
    AssignmentRow,
    CatalogServiceRow,
    DomainRow,
    EndpointRow,
    ImpliedRoleRow,
    ProjectRow,
    RegionRow,
    RoleRow,
    UserRow,
)
from nimbus.identity.service import passwords
from nimbus.identity.service.effective import SYSTEM_TARGET
from nimbus.identity.service.ids import new_id

LOG = logging.getLogger(__name__)

DEFAULT_DOMAIN_ID = "default"
ADMIN_PROJECT = "admin"
SERVICE_PROJECT = "service"


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    type: str
    name: str
    path: str  # appended to the cloud's base URL


# Every service of ARCHITECTURE.md's table, at its all-in-one prefix.
CATALOG = [
    CatalogEntry("identity", "keystone", "/identity"),
    CatalogEntry("compute", "nova", "/compute/v2.1"),
    CatalogEntry("placement", "placement", "/placement"),
    CatalogEntry("image", "glance", "/image"),
    CatalogEntry("network", "neutron", "/network"),
    CatalogEntry("block-storage", "cinder", "/volume/v3/$(project_id)s"),
    CatalogEntry("volumev3", "cinderv3", "/volume/v3/$(project_id)s"),
]


async def _role(session: AsyncSession, name: str) -> RoleRow:
    row = (await session.execute(select(RoleRow).where(
        RoleRow.name == name, RoleRow.domain_id == "<<null>>"))).scalar_one_or_none()
    if row is None:
        row = RoleRow(id=new_id(), name=name, options={}, extra={})
        session.add(row)
        await session.flush()
    return row


async def _project(session: AsyncSession, name: str, description: str) -> ProjectRow:
    row = (await session.execute(select(ProjectRow).where(
        ProjectRow.name == name, ProjectRow.domain_id == DEFAULT_DOMAIN_ID))).scalar_one_or_none()
    if row is None:
        row = ProjectRow(id=new_id(), name=name, domain_id=DEFAULT_DOMAIN_ID,
                         description=description, enabled=True, extra={})
        session.add(row)
        await session.flush()
    return row


async def _user(session: AsyncSession, name: str, password: str, rounds: int,
                default_project_id: str) -> UserRow:
    row = (await session.execute(select(UserRow).where(
        UserRow.name == name, UserRow.domain_id == DEFAULT_DOMAIN_ID))).scalar_one_or_none()
    if row is None:
        row = UserRow(id=new_id(), name=name, domain_id=DEFAULT_DOMAIN_ID, enabled=True,
                      password_hash=await passwords.hash_password(password, rounds),
                      default_project_id=default_project_id, extra={}, options={})
        session.add(row)
        await session.flush()
    elif not await passwords.verify_password(password, row.password_hash):
        row.password_hash = await passwords.hash_password(password, rounds)
    return row


async def _grant(session: AsyncSession, kind: str, actor_id: str, target_id: str,
                 role_id: str) -> None:
    key = {"type": kind, "actor_id": actor_id, "target_id": target_id, "role_id": role_id,
           "inherited": False}
    if await session.get(AssignmentRow, key) is None:
        session.add(AssignmentRow(**key))


async def _imply(session: AsyncSession, prior: RoleRow, implied: RoleRow) -> None:
    if await session.get(ImpliedRoleRow, (prior.id, implied.id)) is None:
        session.add(ImpliedRoleRow(prior_role_id=prior.id, implied_role_id=implied.id))


async def _catalog(session: AsyncSession, base_url: str, region: str) -> None:
    if await session.get(RegionRow, region) is None:
        session.add(RegionRow(id=region, description="", extra={}))
    for entry in CATALOG:
        svc = (await session.execute(select(CatalogServiceRow).where(
            CatalogServiceRow.type == entry.type))).scalars().first()
        if svc is None:
            svc = CatalogServiceRow(id=new_id(), type=entry.type, name=entry.name,
                                    description=f"Nimbus {entry.type}", enabled=True, extra={})
            session.add(svc)
            await session.flush()
        url = base_url.rstrip("/") + entry.path
        existing = {ep.interface: ep for ep in (await session.execute(select(EndpointRow).where(
            EndpointRow.service_id == svc.id, EndpointRow.region_id == region))).scalars()}
        for interface in ("public", "internal", "admin"):
            ep = existing.get(interface)
            if ep is None:
                session.add(EndpointRow(id=new_id(), service_id=svc.id, interface=interface,
                                        region_id=region, url=url, enabled=True, extra={}))
            elif ep.url != url:
                ep.url = url


async def bootstrap(deps: IdentityDeps, *, admin_password: str, service_password: str) -> None:
    settings = deps.settings
    rounds = settings.identity.bcrypt_rounds
    deps.keys.initialize()
    async with deps.write() as session:
        if await session.get(DomainRow, DEFAULT_DOMAIN_ID) is None:
            session.add(DomainRow(id=DEFAULT_DOMAIN_ID, name="Default", enabled=True,
                                  description="The default domain", extra={}))
            await session.flush()
        admin, member, reader = [await _role(session, n) for n in ("admin", "member", "reader")]
        # As Keystone's bootstrap since 2024.2: admin implies manager implies member (Nova's
        # project-manager rules and Tempest's project_manager credentials use it).
        manager = await _role(session, "manager")
        service_role = await _role(session, "service")
        await _imply(session, admin, member)
        await _imply(session, admin, manager)
        await _imply(session, manager, member)
        await _imply(session, member, reader)
        admin_project = await _project(session, ADMIN_PROJECT, "Bootstrap project for the cloud")
        service_project = await _project(session, SERVICE_PROJECT, "Nimbus's own services")
        admin_user = await _user(session, "admin", admin_password, rounds, admin_project.id)
        await _grant(session, "UserProject", admin_user.id, admin_project.id, admin.id)
        await _grant(session, "UserDomain", admin_user.id, DEFAULT_DOMAIN_ID, admin.id)
        await _grant(session, "UserSystem", admin_user.id, SYSTEM_TARGET, admin.id)
        svc_user = await _user(session, settings.identity.service_user, service_password,
                               rounds, service_project.id)
        await _grant(session, "UserProject", svc_user.id, service_project.id, admin.id)
        await _grant(session, "UserProject", svc_user.id, service_project.id, service_role.id)
        await _catalog(session, settings.base_url, settings.region)
    LOG.info("identity bootstrapped")
