"""Ports: create (one or many), show, list, update, delete.

A port gets a MAC (fa:16:3e:xx:xx:xx, unique on its network) and fixed IPs: the ones asked
for, or else one from the first IPv4 subnet with a free address, one from the first such
IPv6 subnet, and its SLAAC address on every auto-address IPv6 subnet. Binding a port to a host
makes it `binding:vif_type` bridge, as our agent plugs ports into Linux bridges.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.core.policy import PolicyNotAuthorized
from nimbus.network import errors, schemas
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import IpAllocationRow, NetworkRow, PortRow, SubnetRow, TagRow
from nimbus.network.service import (
    access,
    cidrs,
    ipam,
    l3_ports,
    listing,
    quotas,
    security_groups,
)
from nimbus.network.service.subnets import is_auto_address

LOG = logging.getLogger(__name__)

MAC_PREFIX = "fa:16:3e"
MAX_FIXED_IPS = 5
MAC_ATTEMPTS = 16
# Attributes whose `create_port:<attr>` / `update_port:<attr>` rule applies whenever given.
_GUARDED = ("mac_address", "port_security_enabled", "binding:host_id", "binding:profile")


async def to_dicts(session: AsyncSession, rows: Sequence[PortRow]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    fixed: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        found = await session.execute(
            select(IpAllocationRow.port_id, IpAllocationRow.subnet_id, IpAllocationRow.ip_address)
            .where(IpAllocationRow.port_id.in_(chunk)))
        for port_id, subnet_id, ip in found:
            fixed[port_id].append({"subnet_id": subnet_id, "ip_address": ip})
    tags = await access.tags_of(session, ids)
    return [_to_dict(row, _ordered(fixed[row.id]), tags[row.id]) for row in rows]


def _ordered(fixed_ips: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(fixed_ips, key=lambda f: (cidrs.address(f["ip_address"]).version,
                                            int(cidrs.address(f["ip_address"]))))


def _to_dict(row: PortRow, fixed_ips: list[dict[str, str]], tags: list[str]) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "network_id": row.network_id,
            "mac_address": row.mac_address, "admin_state_up": row.admin_state_up,
            "status": row.status, "device_id": row.device_id, "device_owner": row.device_owner,
            "fixed_ips": fixed_ips, "allowed_address_pairs": list(row.allowed_address_pairs),
            "extra_dhcp_opts": list(row.extra_dhcp_opts),
            "security_groups": list(row.security_groups),
            "port_security_enabled": row.port_security_enabled,
            "binding:host_id": row.binding_host_id, "binding:vif_type": row.binding_vif_type,
            "binding:vif_details": dict(row.binding_vif_details),
            "binding:vnic_type": row.binding_vnic_type,
            "binding:profile": dict(row.binding_profile),
            **access.standard_attrs(row, row.project_id, tags)}


def _port_target(network: NetworkRow, project_id: str) -> dict[str, Any]:
    return {**access.network_target(network), "project_id": project_id, "tenant_id": project_id}


def _authorize(deps: NetworkDeps, ctx: RequestContext, verb: str, target: dict[str, Any],
               attrs: dict[str, Any]) -> None:
    given = [k for k in _GUARDED if k in attrs and attrs[k] not in ("", {}, None)]
    if attrs.get("allowed_address_pairs"):
        given.append("allowed_address_pairs")
    if str(attrs.get("device_owner") or "").startswith("network:"):
        given.append("device_owner")
    for fixed in attrs.get("fixed_ips") or ():
        given += [f"fixed_ips:{key}" for key in ("ip_address", "subnet_id") if key in fixed]
    access.authorize(deps, ctx, f"{verb}_port", target, dict.fromkeys(given))


def _check_security(port_security: bool, attrs: dict[str, Any]) -> None:
    if port_security:
        return
    if attrs.get("allowed_address_pairs"):
        raise errors.AddressPairAndPortSecurityRequired()
    if attrs.get("security_groups"):
        raise errors.PortSecurityAndIPRequiredForSecurityGroups()


def _binding(deps: NetworkDeps, host: str) -> dict[str, Any]:
    if not host:
        return {"binding_host_id": "", "binding_vif_type": "unbound", "binding_vif_details": {}}
    return {"binding_host_id": host, "binding_vif_type": deps.config.vif_type,
            "binding_vif_details": {"connectivity": "l2", "port_filter": True}}


def _status(row: PortRow) -> str:
    if row.device_owner in l3_ports.ROUTER_OWNERS and row.admin_state_up:
        return "ACTIVE"  # a router is its own dataplane here: no agent binds its ports
    return "ACTIVE" if row.binding_host_id and row.admin_state_up else "DOWN"


def _address_pairs(pairs: list[dict[str, str]], mac: str) -> list[dict[str, str]]:
    filled = [{"ip_address": p["ip_address"], "mac_address": p.get("mac_address") or mac}
              for p in pairs]
    seen: set[tuple[str, str]] = set()
    for pair in filled:
        key = (pair["ip_address"], pair["mac_address"])
        if key in seen:
            raise errors.DuplicateAddressPairInRequest(mac_address=key[1], ip_address=key[0])
        seen.add(key)
    return filled


def _dhcp_opts(current: list[dict[str, Any]], given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutron's merge: an option replaces the one of the same name and version; a null value
    removes it."""
    merged = {(o["opt_name"], o.get("ip_version", 4)): o for o in current}
    for opt in given:
        key = (opt["opt_name"], opt.get("ip_version", 4))
        if opt["opt_value"] is None:
            merged.pop(key, None)
        else:
            merged[key] = {"opt_name": opt["opt_name"], "opt_value": opt["opt_value"],
                           "ip_version": opt.get("ip_version", 4)}
    return list(merged.values())


async def create_ports(deps: NetworkDeps, ctx: RequestContext, body: Any) -> tuple[
        list[dict[str, Any]], bool]:
    """All the ports of a (bulk) request in one transaction, or none of them."""
    items, bulk = schemas.items_of("port", body)
    prepared = [schemas.prepare("port", item, create=True) for item in items]
    for project_id in {access.check_project(ctx, attrs) for attrs in prepared
                       if "security_groups" not in attrs}:
        await security_groups.ensure_default(deps, project_id)
    async with deps.write() as session:
        rows = [await _create(session, deps, ctx, attrs) for attrs in prepared]
        created = await to_dicts(session, rows)
    LOG.info("ports %s created", [p["id"] for p in created])
    return created, bulk


async def _create(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                  attrs: dict[str, Any]) -> PortRow:
    network = await access.visible_network(session, ctx, attrs["network_id"])
    project_id = access.check_project(ctx, attrs)
    _authorize(deps, ctx, "create", _port_target(network, project_id), attrs)
    port_security = attrs.get("port_security_enabled", network.port_security_enabled)
    _check_security(port_security, attrs)
    await quotas.enforce(session, deps, project_id, "port")
    groups = await security_groups.port_groups(
        session, ctx, project_id, attrs.get("security_groups"), port_security=port_security,
        device_owner=attrs["device_owner"])
    now = db.utcnow()
    row = PortRow(id=str(uuid.uuid4()), network_id=network.id, project_id=project_id,
                  name=attrs["name"], description=attrs["description"],
                  admin_state_up=attrs["admin_state_up"], device_id=attrs["device_id"],
                  device_owner=attrs["device_owner"], port_security_enabled=port_security,
                  binding_vnic_type=attrs["binding:vnic_type"],
                  binding_profile=attrs["binding:profile"],
                  security_groups=groups,
                  extra_dhcp_opts=_dhcp_opts([], attrs["extra_dhcp_opts"]),
                  created_at=now, updated_at=now, revision_number=0,
                  **_binding(deps, attrs["binding:host_id"]))
    row.status = _status(row)
    await _insert_with_mac(session, row, attrs.get("mac_address"))
    row.allowed_address_pairs = _address_pairs(attrs["allowed_address_pairs"], row.mac_address)
    if "fixed_ips" in attrs:
        await _allocate_requested(session, network, row, attrs["fixed_ips"])
    else:
        await _allocate_default(session, network, row)
    return row


async def _insert_with_mac(session: AsyncSession, row: PortRow, mac: str | None) -> None:
    """Insert the port with `mac`, or a random one not yet on the network.

    No savepoint here: on SQLite it would open (and its release commit) the transaction.
    Two requests racing for one MAC meet the unique key, and the loser gets a 409.
    """
    for _ in range(MAC_ATTEMPTS):
        row.mac_address = mac or f"{MAC_PREFIX}:" + ":".join(
            f"{b:02x}" for b in secrets.token_bytes(3))
        clash = await session.scalar(select(PortRow.id).where(
            PortRow.network_id == row.network_id, PortRow.mac_address == row.mac_address))
        if clash is None:
            session.add(row)
            await session.flush()
            return
        if mac:
            raise errors.MacAddressInUse(net_id=row.network_id, mac=mac)
    raise errors.MacAddressGenerationFailure(net_id=row.network_id)


async def _locked_subnets(session: AsyncSession, network_id: str) -> list[SubnetRow]:
    """The network's subnets in creation order, their IPAM locks taken (see ipam)."""
    subnets = list((await session.scalars(select(SubnetRow).where(
        SubnetRow.network_id == network_id).order_by(SubnetRow.created_ns, SubnetRow.id))).all())
    await ipam.lock_subnets(session, [s.id for s in subnets])
    return subnets


async def _allocate_default(session: AsyncSession, network: NetworkRow, row: PortRow) -> None:
    subnets = await _locked_subnets(session, network.id)
    for version in (4, 6):
        candidates = [s for s in subnets if s.ip_version == version and not is_auto_address(s)]
        if not candidates:
            continue
        for subnet in candidates:
            if await ipam.allocate_any(session, subnet, row.id):
                break
        else:
            raise errors.IpAddressGenerationFailure(net_id=network.id)
    for subnet in subnets:
        if is_auto_address(subnet):
            await _allocate_slaac(session, subnet, row)


async def _allocate_slaac(session: AsyncSession, subnet: SubnetRow, row: PortRow) -> None:
    address = cidrs.eui64(cidrs.network(subnet.cidr), row.mac_address)
    await ipam.allocate_specific(session, subnet, row.id, address)


async def _allocate_requested(session: AsyncSession, network: NetworkRow, row: PortRow,
                              fixed_ips: list[dict[str, str]]) -> None:
    if len(fixed_ips) > MAX_FIXED_IPS:
        raise errors.InvalidInput(error_message="Exceeded maximum amount of fixed ips per port.")
    subnets = await _locked_subnets(session, network.id)
    for fixed in _resolve(network, subnets, fixed_ips):
        subnet, ip = fixed
        if ip is not None:
            await ipam.allocate_specific(session, subnet, row.id, ip)
        elif is_auto_address(subnet):
            await _allocate_slaac(session, subnet, row)
        elif await ipam.allocate_any(session, subnet, row.id) is None:
            raise errors.IpAddressGenerationFailure(net_id=network.id)


def _resolve(network: NetworkRow, subnets: list[SubnetRow],
             fixed_ips: list[dict[str, str]]) -> list[tuple[SubnetRow, str | None]]:
    """Each requested fixed IP as (subnet, address or None), checked against the network."""
    by_id = {s.id: s for s in subnets}
    resolved: list[tuple[SubnetRow, str | None]] = []
    for fixed in fixed_ips:
        ip = fixed.get("ip_address")
        if "subnet_id" in fixed:
            subnet = by_id.get(fixed["subnet_id"])
            if subnet is None:
                raise errors.InvalidInput(error_message=(
                    f"Failed to create port on network {network.id}, because fixed_ips "
                    f"included invalid subnet {fixed['subnet_id']}"))
        elif ip is not None:
            found = [s for s in subnets if cidrs.contains(cidrs.network(s.cidr), ip)]
            if not found:
                raise errors.InvalidInput(error_message=(
                    f"IP address {ip} is not a valid IP for any of the subnets on the "
                    "specified network."))
            subnet = found[0]
        else:
            raise errors.InvalidInput(error_message="IP allocation requires subnet_id or "
                                                    "ip_address")
        if (subnet.id, ip) in {(s.id, i) for s, i in resolved}:
            raise errors.InvalidInput(error_message="Duplicate IP address or subnet in "
                                                    "fixed_ips")
        resolved.append((subnet, ip))
    return resolved


async def get_port(deps: NetworkDeps, ctx: RequestContext, port_id: str) -> dict[str, Any]:
    async with deps.read() as session:
        row, network = await access.visible_port(session, ctx, port_id)
        deps.authorize(ctx, "get_port", _port_target(network, row.project_id))
        return (await to_dicts(session, [row]))[0]


async def list_ports(deps: NetworkDeps, ctx: RequestContext,
                     query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_port", {"project_id": ctx.project_id})
    statement = select(PortRow)
    if not ctx.is_admin:
        own = ctx.project_id or ""
        statement = statement.join(NetworkRow, NetworkRow.id == PortRow.network_id).where(
            or_(PortRow.project_id == own, NetworkRow.project_id == own))
    for key, column in (("id", PortRow.id), ("network_id", PortRow.network_id),
                        ("device_id", PortRow.device_id)):
        if values := query.filters.get(key):
            statement = statement.where(column.in_(values))
    async with deps.read() as session:
        rows = (await session.scalars(statement)).all()
        return await to_dicts(session, rows)


async def update_port(deps: NetworkDeps, ctx: RequestContext, port_id: str,
                      body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("port", schemas.update_item("port", body), create=False)
    if "project_id" in attrs:
        raise errors.HTTPBadRequest(detail="Cannot update read-only attribute project_id")
    async with deps.write() as session:
        row, network = await access.visible_port(session, ctx, port_id)
        _authorize(deps, ctx, "update", _port_target(network, row.project_id), attrs)
        port_security = attrs.get("port_security_enabled", row.port_security_enabled)
        _check_security(port_security, {
            "allowed_address_pairs": attrs.get("allowed_address_pairs",
                                               row.allowed_address_pairs),
            "security_groups": attrs.get("security_groups", row.security_groups)})
        if "security_groups" in attrs:
            await security_groups.port_groups(
                session, ctx, row.project_id, attrs["security_groups"],
                port_security=port_security, device_owner=row.device_owner)
        if "mac_address" in attrs and attrs["mac_address"] != row.mac_address:
            if row.binding_host_id:
                raise errors.PortBound(port_id=port_id, vif_type=row.binding_vif_type)
            clash = await session.scalar(select(PortRow.id).where(
                PortRow.network_id == row.network_id, PortRow.mac_address == attrs["mac_address"]))
            if clash:
                raise errors.MacAddressInUse(net_id=row.network_id, mac=attrs["mac_address"])
            row.mac_address = attrs["mac_address"]
        if "fixed_ips" in attrs:
            await _replace_fixed_ips(session, network, row, attrs["fixed_ips"])
        _apply_simple(deps, row, attrs, port_security)
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


def _apply_simple(deps: NetworkDeps, row: PortRow, attrs: dict[str, Any],
                  port_security: bool) -> None:
    for key in ("name", "description", "admin_state_up", "device_id", "device_owner"):
        if key in attrs:
            setattr(row, key, attrs[key])
    row.port_security_enabled = port_security
    if "security_groups" in attrs:
        row.security_groups = attrs["security_groups"]
    if "allowed_address_pairs" in attrs:
        row.allowed_address_pairs = _address_pairs(attrs["allowed_address_pairs"],
                                                   row.mac_address)
    if "extra_dhcp_opts" in attrs:
        row.extra_dhcp_opts = _dhcp_opts(list(row.extra_dhcp_opts), attrs["extra_dhcp_opts"])
    if "binding:vnic_type" in attrs:
        row.binding_vnic_type = attrs["binding:vnic_type"]
    if "binding:profile" in attrs:
        row.binding_profile = attrs["binding:profile"]
    if "binding:host_id" in attrs:
        for key, value in _binding(deps, attrs["binding:host_id"]).items():
            setattr(row, key, value)
    row.status = _status(row)


async def _replace_fixed_ips(session: AsyncSession, network: NetworkRow, row: PortRow,
                             fixed_ips: list[dict[str, str]]) -> None:
    """Keep the addresses still asked for, release the others, allocate the new ones."""
    if len(fixed_ips) > MAX_FIXED_IPS:
        raise errors.InvalidInput(error_message="Exceeded maximum amount of fixed ips per port.")
    current = {(a.subnet_id, a.ip_address) for a in (await session.scalars(
        select(IpAllocationRow).where(IpAllocationRow.port_id == row.id))).all()}
    wanted = _resolve(network, await _locked_subnets(session, network.id), fixed_ips)
    keep = {(s.id, ip) for s, ip in wanted if (s.id, ip) in current}
    # A subnet named without an address keeps the address the port has there.
    for subnet, ip in wanted:
        if ip is None:
            keep |= {(sid, addr) for sid, addr in current if sid == subnet.id}
    for subnet_id, ip in current - keep:
        await ipam.release(session, row.id, subnet_id, ip)
    held = {sid for sid, _ in keep}
    for subnet, ip in wanted:
        if (subnet.id, ip) in keep or (ip is None and subnet.id in held):
            continue
        if ip is not None:
            await ipam.allocate_specific(session, subnet, row.id, ip)
        elif is_auto_address(subnet):
            await _allocate_slaac(session, subnet, row)
        elif await ipam.allocate_any(session, subnet, row.id) is None:
            raise errors.IpAddressGenerationFailure(net_id=network.id)


async def delete_port(deps: NetworkDeps, ctx: RequestContext, port_id: str) -> None:
    async with deps.write() as session:
        row, network = await access.visible_port(session, ctx, port_id)
        target = _port_target(network, row.project_id)
        if not deps.allowed(ctx, "delete_port", target):
            raise PolicyNotAuthorized(rule="delete_port")
        await l3_ports.before_port_delete(session, row)
        await remove_in(session, row)
    LOG.info("port %s deleted", port_id)


async def create_in(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                    item: dict[str, Any]) -> PortRow:
    """One port in the caller's transaction: routers and floating IPs create theirs so."""
    return await _create(session, deps, ctx, schemas.prepare("port", item, create=True))


async def remove_in(session: AsyncSession, row: PortRow) -> None:
    """The port and its addresses, in the caller's transaction."""
    await session.execute(delete(IpAllocationRow).where(IpAllocationRow.port_id == row.id))
    await session.execute(delete(TagRow).where(TagRow.resource_id == row.id))
    await session.delete(row)
    await session.flush()
