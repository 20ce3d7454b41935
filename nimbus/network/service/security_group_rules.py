"""Security group rules: create (one or many), show, list, update (description), delete.

A rule is checked as Neutron checks it: a port range only with a protocol that has ports (or
ICMP type and code), a remote prefix or a remote group but not both, an ethertype that agrees
with the prefix and the protocol. The same rule twice in a group is 409 SecurityGroupRuleExists.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.network import errors, protocols, schemas
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import DefaultSecurityGroupRow, SecurityGroupRow, SecurityGroupRuleRow
from nimbus.network.service import access, listing, quotas

LOG = logging.getLogger(__name__)

# What makes two rules the same rule.
_IDENTITY = ("security_group_id", "direction", "ethertype", "protocol", "port_range_min",
             "port_range_max", "remote_ip_prefix", "remote_group_id")


def _to_dict(row: SecurityGroupRuleRow, default_group: bool) -> dict[str, Any]:
    shown = access.standard_attrs(row, row.project_id, [])
    shown.pop("tags")
    return {"id": row.id, "security_group_id": row.security_group_id,
            "direction": row.direction, "ethertype": row.ethertype, "protocol": row.protocol,
            "port_range_min": row.port_range_min, "port_range_max": row.port_range_max,
            "remote_ip_prefix": row.remote_ip_prefix, "remote_group_id": row.remote_group_id,
            "remote_address_group_id": None,
            "normalized_cidr": protocols.normalized(row.remote_ip_prefix),
            "belongs_to_default_sg": default_group, **shown}


async def _defaults_among(session: AsyncSession, group_ids: Iterable[str]) -> set[str]:
    wanted = list(group_ids)
    if not wanted:
        return set()
    return set((await session.scalars(select(DefaultSecurityGroupRow.security_group_id).where(
        DefaultSecurityGroupRow.security_group_id.in_(wanted)))).all())


async def to_dicts(session: AsyncSession,
                   rows: Sequence[SecurityGroupRuleRow]) -> list[dict[str, Any]]:
    defaults = await _defaults_among(session, {row.security_group_id for row in rows})
    return [_to_dict(row, row.security_group_id in defaults) for row in rows]


async def rules_of(session: AsyncSession,
                   group_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in group_ids}
    for start in range(0, len(group_ids), 500):
        rows = (await session.scalars(select(SecurityGroupRuleRow).where(
            SecurityGroupRuleRow.security_group_id.in_(group_ids[start:start + 500]))
            .order_by(SecurityGroupRuleRow.created_at, SecurityGroupRuleRow.id))).all()
        for rule in await to_dicts(session, rows):
            found[rule["security_group_id"]].append(rule)
    return found


def check_rule(attrs: dict[str, Any]) -> None:
    """Neutron's checks of one rule's attributes against each other (400s)."""
    if attrs["remote_ip_prefix"] is not None and attrs["remote_group_id"] is not None:
        raise errors.SecurityGroupRemoteGroupAndRemoteIpPrefix()
    if attrs["remote_ip_prefix"] is not None:
        version = ipaddress.ip_interface(attrs["remote_ip_prefix"]).version
        if f"IPv{version}" != attrs["ethertype"]:
            raise errors.SecurityGroupRuleParameterConflict(
                ethertype=attrs["ethertype"], cidr=attrs["remote_ip_prefix"])
    if attrs["protocol"] in protocols.IPV6_ONLY and attrs["ethertype"] == "IPv4":
        raise errors.SecurityGroupEthertypeConflictWithProtocol(
            ethertype=attrs["ethertype"], protocol=attrs["protocol"])
    _check_ports(attrs)


def _check_ports(attrs: dict[str, Any]) -> None:
    low, high = attrs["port_range_min"], attrs["port_range_max"]
    if low is None and high is None:
        return
    number = protocols.number(attrs["protocol"])
    if number is None:
        raise errors.SecurityGroupProtocolRequiredWithPorts()
    if number in protocols.WITH_PORTS:
        if low == 0 or high == 0:
            raise errors.SecurityGroupInvalidPortValue(port=0)
        if low is None or high is None or low > high:
            raise errors.SecurityGroupInvalidPortRange()
    elif number in protocols.ICMP:
        for value, attr, field in ((low, "port_range_min", "type"),
                                   (high, "port_range_max", "code")):
            if value is not None and not 0 <= value <= 255:
                raise errors.SecurityGroupInvalidIcmpValue(field=field, attr=attr, value=value)
        if low is None:
            raise errors.SecurityGroupMissingIcmpType(value=high)
    elif low != high:
        raise errors.SecurityGroupInvalidProtocolForPortRange(protocol=number)


def _same(attrs: dict[str, Any], other: dict[str, Any]) -> bool:
    def key(rule: dict[str, Any]) -> tuple[Any, ...]:
        values = {k: rule.get(k) for k in _IDENTITY}
        values["remote_ip_prefix"] = protocols.normalized(values["remote_ip_prefix"])
        # Neutron treats 0.0.0.0/0 and ::/0 as no prefix at all.
        if values["remote_ip_prefix"] in ("0.0.0.0/0", "::/0"):
            values["remote_ip_prefix"] = None
        values["protocol"] = protocols.number(values["protocol"])
        return tuple(values.values())
    return key(attrs) == key(other)


async def create_rules(deps: NetworkDeps, ctx: RequestContext, body: Any) -> tuple[
        list[dict[str, Any]], bool]:
    """All the rules of a (bulk) request in one transaction, or none of them."""
    items, bulk = schemas.items_of("security_group_rule", body)
    prepared = [schemas.prepare("security_group_rule", item, create=True) for item in items]
    for attrs in prepared:
        check_rule(attrs)
    for index, attrs in enumerate(prepared):
        if any(_same(attrs, other) for other in prepared[:index]):
            raise errors.DuplicateSecurityGroupRuleInPost()
    async with deps.write() as session:
        rows = [await _create(session, deps, ctx, attrs) for attrs in prepared]
        await session.flush()
        created = await to_dicts(session, rows)
    LOG.info("security group rules %s created", [r["id"] for r in created])
    return created, bulk


async def _visible_group(session: AsyncSession, ctx: RequestContext,
                         group_id: str) -> SecurityGroupRow:
    row = await session.get(SecurityGroupRow, group_id, with_for_update=True)
    if row is None or not ctx.may_see(row.project_id):
        raise errors.SecurityGroupNotFound(id=group_id)
    return row


async def _create(session: AsyncSession, deps: NetworkDeps, ctx: RequestContext,
                  attrs: dict[str, Any]) -> SecurityGroupRuleRow:
    # The group row is locked: two requests adding the same rule meet one after the other.
    group = await _visible_group(session, ctx, attrs["security_group_id"])
    project_id = attrs.get("project_id") or group.project_id
    deps.authorize(ctx, "create_security_group_rule", {
        "project_id": project_id, "tenant_id": project_id,
        "security_group:tenant_id": group.project_id})
    if attrs["remote_group_id"] is not None:
        remote = await session.get(SecurityGroupRow, attrs["remote_group_id"])
        if remote is None or not ctx.may_see(remote.project_id):
            raise errors.SecurityGroupNotFound(id=attrs["remote_group_id"])
    existing = (await session.scalars(select(SecurityGroupRuleRow).where(
        SecurityGroupRuleRow.security_group_id == group.id))).all()
    for rule in existing:
        if _same(attrs, {k: getattr(rule, k) for k in _IDENTITY}):
            raise errors.SecurityGroupRuleExists(rule_id=rule.id)
    await quotas.enforce(session, deps, project_id, "security_group_rule")
    now = db.utcnow()
    row = SecurityGroupRuleRow(
        id=str(uuid.uuid4()), project_id=project_id, description=attrs["description"],
        created_at=now, updated_at=now, revision_number=0,
        **{k: attrs[k] for k in _IDENTITY})
    session.add(row)
    access.touch(group)
    await session.flush()
    return row


async def _visible_rule(session: AsyncSession, ctx: RequestContext,
                        rule_id: str) -> SecurityGroupRuleRow:
    row = await session.get(SecurityGroupRuleRow, rule_id)
    group = None if row is None else await session.get(SecurityGroupRow, row.security_group_id)
    if row is None or group is None or not (ctx.may_see(row.project_id) or
                                            ctx.may_see(group.project_id)):
        raise errors.SecurityGroupRuleNotFound(id=rule_id)
    return row


async def get_rule(deps: NetworkDeps, ctx: RequestContext, rule_id: str) -> dict[str, Any]:
    async with deps.read() as session:
        row = await _visible_rule(session, ctx, rule_id)
        deps.authorize(ctx, "get_security_group_rule", {"project_id": row.project_id})
        return (await to_dicts(session, [row]))[0]


async def list_rules(deps: NetworkDeps, ctx: RequestContext,
                     query: listing.ListQuery) -> list[dict[str, Any]]:
    deps.authorize(ctx, "get_security_group_rule", {"project_id": ctx.project_id})
    statement = select(SecurityGroupRuleRow)
    if not ctx.is_admin:
        own = ctx.project_id or ""
        statement = statement.join(
            SecurityGroupRow, SecurityGroupRow.id == SecurityGroupRuleRow.security_group_id
        ).where((SecurityGroupRuleRow.project_id == own) | (SecurityGroupRow.project_id == own))
    for key, column in (("id", SecurityGroupRuleRow.id),
                        ("security_group_id", SecurityGroupRuleRow.security_group_id)):
        if values := query.filters.get(key):
            statement = statement.where(column.in_(values))
    async with deps.read() as session:
        rows = (await session.scalars(statement)).all()
        return await to_dicts(session, rows)


async def update_rule(deps: NetworkDeps, ctx: RequestContext, rule_id: str,
                      body: Any) -> dict[str, Any]:
    attrs = schemas.prepare("security_group_rule", schemas.update_item(
        "security_group_rule", body), create=False)
    if "project_id" in attrs:
        raise errors.HTTPBadRequest(detail="Cannot update read-only attribute project_id")
    async with deps.write() as session:
        row = await _visible_rule(session, ctx, rule_id)
        deps.authorize(ctx, "update_security_group_rule", {"project_id": row.project_id})
        if "description" in attrs:
            row.description = attrs["description"]
        access.touch(row)
        await session.flush()
        return (await to_dicts(session, [row]))[0]


async def delete_rule(deps: NetworkDeps, ctx: RequestContext, rule_id: str) -> None:
    async with deps.write() as session:
        row = await _visible_rule(session, ctx, rule_id)
        group = await session.get(SecurityGroupRow, row.security_group_id)
        assert group is not None
        deps.authorize(ctx, "delete_security_group_rule", {
            "project_id": group.project_id, "tenant_id": group.project_id})
        await session.execute(delete(SecurityGroupRuleRow).where(
            SecurityGroupRuleRow.id == rule_id))
        access.touch(group)
    LOG.info("security group rule %s deleted", rule_id)
