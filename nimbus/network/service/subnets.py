"""Subnets: create (one or many), show, list, update, delete.

A subnet's CIDR may not overlap another subnet of its network; its gateway defaults to the
first address and must lie inside it (or be null); its pools default to the usable range
minus the gateway and must lie inside it, apart from each other and from the gateway.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.network import errors, schemas
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import IpAllocationRow, NetworkRow, PortRow, SubnetRow, TagRow
from nimbus.network.service import access, cidrs, listing, quotas

LOG = logging.getLogger(__name__)

MAX_DNS_NAMESERVERS = 5
MAX_HOST_ROUTES = 20
# IPv6 subnets whose ports get their address from the MAC (SLAAC), not from the pools.
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")


def is_auto_address(row: SubnetRow) -> bool:
    return row.ip_version == 6 and row.ipv6_address_mode in AUTO_ADDRESS_MODES


async def to_dicts(session: AsyncSession, rows: Sequence[SubnetRow]) -> list[dict[str, Any]]:
    tags = await access.tags_of(session, [row.id for row in rows])
    network_ids = list({row.network_id for row in rows})
    external: set[str] = set()
    for start in range(0, len(network_ids), 500):
        external.update((await session.scalars(select(NetworkRow.id).where(
            NetworkRow.id.in_(network_ids[start:start + 500]),
            NetworkRow.external.is_(True)))).all())
    return [_to_dict(row, tags[row.id], row.network_id in external) for row in rows]


def _to_dict(row: SubnetRow, tags: list[str], external: bool) -> dict[str, Any]:
    # router:external (subnet-external-network): why every project sees this subnet.
    return {"id": row.id, "name": row.name, "network_id": row.network_id,
            "router:external": external,
            "ip_version": row.ip_version, "cidr": row.cidr, "gateway_ip": row.gateway_ip,
            "allocation_pools": list(row.allocation_pools), "enable_dhcp": row.enable_dhcp,
            "dns_nameservers": list(row.dns_nameservers), "host_routes": list(row.host_routes),
            "ipv6_ra_mode": row.ipv6_ra_mode, "ipv6_address_mode": row.ipv6_address_mode,
            "subnetpool_id": None, "service_types": [],
            **access.standard_attrs(row, row.project_id, tags)}


def _check_ipv6_modes(attrs: dict[str, Any], ip_version: int) -> None:
    ra, address = attrs.get("ipv6_ra_mode"), attrs.get("ipv6_address_mode")
    if ip_version == 4 and (ra or address):
        raise errors.InvalidInput(error_message="ipv6_ra_mode or ipv6_address_mode cannot be "
                                                "set when ip_version is 4")
    if ra and address and ra != address:
        raise errors.InvalidInput(error_message=(
            f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{address}' is not "
            "valid. If both attributes are set, they must be the same value"))


def _check_lists(attrs: dict[str, Any], net: cidrs.Network) -> None:
    if len(attrs.get("dns_nameservers") or ()) > MAX_DNS_NAMESERVERS:
        raise errors.InvalidInput(error_message=f"Exceeded maximum amount of DNS nameservers "
                                                f"({MAX_DNS_NAMESERVERS})")
    routes = attrs.get("host_routes") or []
    if len(routes) > MAX_HOST_ROUTES:
        raise errors.InvalidInput(error_message=f"Exceeded maximum amount of host routes "
                                                f"({MAX_HOST_ROUTES})")
    for route in routes:
        if cidrs.network(route["destination"]).version != net.version or \
                cidrs.address(route["nexthop"]).version != net.version:
            raise errors.InvalidInput(error_message=f"Invalid route: {route}")


def _gateway_and_pools(attrs: dict[str, Any], net: cidrs.Network,
                       cidr: str) -> tuple[str | None, list[dict[str, str]]]:
    gateway = attrs["gateway_ip"] if "gateway_ip" in attrs else cidrs.default_gateway(net)
    if gateway is not None:
        cidrs.check_gateway(net, gateway)
    if attrs.get("allocation_pools") is not None:
        pools = cidrs.check_pools(net, attrs["allocation_pools"], cidr)
        cidrs.check_gateway_outside_pools(gateway, pools)
    else:
        pools = cidrs.default_pools(net, gateway)
    return gateway, pools


async def create_subnets(deps: NetworkDeps, ctx: RequestContext, body: Any) -> tuple[
        list[dict[str, Any]], bool]:
    """All the subnets of a (bulk) request in one transaction, or none of them."""
    items, bulk = schemas.items_of("subnet", body)
    prepared = [schemas.prepare("subnet", item, create=True) for item in items]
    async with deps.write() as session:
        rows = []
        for attrs in prepared:
            rows.append(await _create(session, deps, ctx, attrs))
            await session.flush()
        created = await to_dicts(session, rows)
    LOG.info("subnets %s created", [s["id"] for s in created])
    return created, bulk


async def _create(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                  attrs: dict[str, Any]) -> SubnetRow:
    network = await access.visible_network(session, ctx, attrs["network_id"], for_update=True)
    project_id = access.check_project(ctx, attrs)
    target = {**access.network_target(network), "project_id": project_id,
              "tenant_id": project_id}
    deps.authorize(ctx, "create_subnet", target)
    if attrs.get("subnetpool_id") or attrs.get("use_default_subnetpool"):
        raise errors.InvalidInput(error_message="Subnet pools are not supported")
    cidr, ip_version = attrs["cidr"], attrs["ip_version"]
    net = cidrs.network(cidr)
    if net.version != ip_version:
        raise errors.InvalidInput(error_message=f"Cidr {cidr} does not match ip_version "
                                                f"{ip_version}")
    if net.prefixlen == 0:
        raise errors.InvalidInput(error_message=f"{cidr} is not allowed as a subnet cidr")
    _check_ipv6_modes(attrs, ip_version)
    _check_lists(attrs, net)
    gateway, pools = _gateway_and_pools(attrs, net, cidr)
    await _check_overlap(session, network.id, net)
    await quotas.enforce(session, deps, project_id, "subnet")
    now = db.utcnow()
    row = SubnetRow(id=str(uuid.uuid4()), network_id=network.id, project_id=project_id,
                    name=attrs["name"], description=attrs["description"], ip_version=ip_version,
                    cidr=cidr, gateway_ip=gateway, enable_dhcp=attrs["enable_dhcp"],
                    ipv6_ra_mode=attrs["ipv6_ra_mode"],
                    ipv6_address_mode=attrs["ipv6_address_mode"], allocation_pools=pools,
                    dns_nameservers=attrs["dns_nameservers"], host_routes=attrs["host_routes"],
                    ipam_generation=0, created_ns=time.time_ns(), created_at=now,
                    updated_at=now, revision_number=0)
    session.add(row)
    access.touch(network)
    return row


async def _check_overlap(session: AsyncSession, network_id: str, net: cidrs.Network) -> None:
    existing = (await session.scalars(select(SubnetRow.cidr).where(
        SubnetRow.network_id == network_id))).all()
    for other in existing:
        if cidrs.network(other).overlaps(net):
            raise errors.InvalidInput(error_message=(
                f"Requested subnet with cidr: {net} for network: {network_id} overlaps with "
                "another subnet"))


async def get_subnet(deps: NetworkDeps, ctx: RequestContext, subnet_id: str) -> dict[str, Any]:
    async with deps.read() as session:
        row, network = await access.visible_subnet(session, ctx, subnet_id)
        deps.authorize(ctx, "get_subnet", access.network_target(network))
        return (await to_dicts(session, [row]))[0]


async def list_subnets(deps: NetworkDeps, ctx: RequestContext,
                       query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_subnet", {"project_id": ctx.project_id})
    statement = select(SubnetRow)
    if (visible := access.network_visibility(ctx)) is not None:
        statement = statement.join(NetworkRow, NetworkRow.id == SubnetRow.network_id).where(
            visible | (SubnetRow.project_id == (ctx.project_id or "")))
    for key, column in (("id", SubnetRow.id), ("network_id", SubnetRow.network_id)):
        if values := query.filters.get(key):
            statement = statement.where(column.in_(values))
    async with deps.read() as session:
        rows = (await session.scalars(statement)).all()
        return await to_dicts(session, rows)


async def update_subnet(deps: NetworkDeps, ctx: RequestContext, subnet_id: str,
                        body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("subnet", schemas.update_item("subnet", body), create=False)
    if "project_id" in attrs:
        raise errors.HTTPBadRequest(detail="Cannot update read-only attribute project_id")
    async with deps.write() as session:
        row, network = await access.visible_subnet(session, ctx, subnet_id)
        deps.authorize(ctx, "update_subnet", {**access.network_target(network),
                                              "project_id": row.project_id})
        net = cidrs.network(row.cidr)
        _check_lists(attrs, net)
        if "gateway_ip" in attrs or "allocation_pools" in attrs:
            gateway = attrs.get("gateway_ip", row.gateway_ip)
            if gateway is not None:
                cidrs.check_gateway(net, gateway)
            pools = (cidrs.check_pools(net, attrs["allocation_pools"], row.cidr)
                     if "allocation_pools" in attrs else list(row.allocation_pools))
            cidrs.check_gateway_outside_pools(gateway, pools)
            row.gateway_ip, row.allocation_pools = gateway, pools
        for key in ("name", "description", "enable_dhcp", "dns_nameservers", "host_routes"):
            if key in attrs:
                setattr(row, key, attrs[key])
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


async def delete_subnet(deps: NetworkDeps, ctx: RequestContext, subnet_id: str) -> None:
    """Refused while a port other than a DHCP port holds an address from a pool; SLAAC
    addresses (derived from the MAC) go with the subnet."""
    async with deps.write() as session:
        row, network = await access.visible_subnet(session, ctx, subnet_id)
        deps.authorize(ctx, "delete_subnet", {**access.network_target(network),
                                              "project_id": row.project_id})
        locked = await session.get(SubnetRow, subnet_id, with_for_update=True)
        assert locked is not None
        if not is_auto_address(row):
            in_use = await session.scalar(
                select(IpAllocationRow.ip_address)
                .join(PortRow, PortRow.id == IpAllocationRow.port_id)
                .where(IpAllocationRow.subnet_id == subnet_id,
                       PortRow.device_owner != "network:dhcp").limit(1))
            if in_use:
                raise errors.SubnetInUse(subnet_id=subnet_id)
        await session.execute(delete(IpAllocationRow).where(
            IpAllocationRow.subnet_id == subnet_id))
        await session.execute(delete(TagRow).where(TagRow.resource_id == subnet_id))
        await session.delete(row)
        access.touch(network)
    LOG.info("subnet %s deleted", subnet_id)
