"""Network's tables. Other services refer to networks and ports by id only.

Rows stay inside `nimbus.network.service`; what leaves it is a plain dict in Neutron's shape.
Lists that are read and written whole (DNS servers, host routes, pools, address pairs) are JSON;
IP allocations have a table of their own, because their uniqueness is what IPAM relies on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nimbus.core import db


class Base(DeclarativeBase):
    metadata = db.new_metadata()
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class StandardAttrs:
    """Neutron's standard attributes: description, timestamps, revision number."""

    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class NetworkRow(StandardAttrs, Base):
    __tablename__ = "network_networks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    network_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    physical_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    segmentation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    availability_zone_hints: Mapped[list[Any]] = mapped_column(default=list)
    # The external network auto-allocated topologies get their gateway on.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SubnetRow(StandardAttrs, Base):
    __tablename__ = "network_subnets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("network_networks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # [{"start": ip, "end": ip}, ...], [ip, ...] and [{"destination", "nexthop"}, ...] in order.
    allocation_pools: Mapped[list[Any]] = mapped_column(default=list)
    dns_nameservers: Mapped[list[Any]] = mapped_column(default=list)
    host_routes: Mapped[list[Any]] = mapped_column(default=list)
    # Bumped by every allocation: the row lock that serialises IPAM on one subnet.
    ipam_generation: Mapped[int] = mapped_column(Integer, default=0)
    # Creation order to the nanosecond (created_at has seconds): ports without fixed_ips get
    # their address from the first subnet created that has one free.
    created_ns: Mapped[int] = mapped_column(BigInteger, default=0)


class PortRow(StandardAttrs, Base):
    __tablename__ = "network_ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address",
                                       name="uq_network_ports_network_mac"),
                      Index("ix_network_ports_device_id", "device_id"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("network_networks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="")
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    binding_profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    allowed_address_pairs: Mapped[list[Any]] = mapped_column(default=list)
    security_groups: Mapped[list[Any]] = mapped_column(default=list)
    extra_dhcp_opts: Mapped[list[Any]] = mapped_column(default=list)


class IpAllocationRow(Base):
    """One address of one subnet held by one port: the primary key is IPAM's guarantee."""

    __tablename__ = "network_ip_allocations"
    subnet_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)


class TagRow(Base):
    __tablename__ = "network_tags"
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32), index=True)


class QuotaRow(Base):
    """A project's limit for one resource, where it differs from the configured default."""

    __tablename__ = "network_quotas"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class SecurityGroupRow(StandardAttrs, Base):
    __tablename__ = "network_security_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class DefaultSecurityGroupRow(Base):
    """A project's `default` group: the primary key keeps it one per project under races."""

    __tablename__ = "network_default_security_groups"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(String(36), ForeignKey(
        "network_security_groups.id", ondelete="CASCADE", name="fk_network_default_sg_group"))


class SecurityGroupRuleRow(StandardAttrs, Base):
    __tablename__ = "network_security_group_rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    security_group_id: Mapped[str] = mapped_column(String(36), ForeignKey(
        "network_security_groups.id", ondelete="CASCADE", name="fk_network_sg_rules_group"),
        index=True)
    # A rule naming a group as its remote goes with that group, as in Neutron.
    remote_group_id: Mapped[str | None] = mapped_column(String(36), ForeignKey(
        "network_security_groups.id", ondelete="CASCADE", name="fk_network_sg_rules_remote"),
        nullable=True, index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RouterRow(StandardAttrs, Base):
    __tablename__ = "network_routers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # The external gateway: its port (network:router_gateway) and whether it does SNAT.
    gw_port_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    # [{"destination": cidr, "nexthop": ip}, ...] (extraroute), in the order given.
    routes: Mapped[list[Any]] = mapped_column(default=list)


class RouterPortRow(Base):
    """A port a router owns: its interfaces and its gateway."""

    __tablename__ = "network_router_ports"
    port_id: Mapped[str] = mapped_column(String(36), ForeignKey(
        "network_ports.id", ondelete="CASCADE", name="fk_network_router_ports_port"),
        primary_key=True)
    router_id: Mapped[str] = mapped_column(String(36), ForeignKey(
        "network_routers.id", ondelete="CASCADE", name="fk_network_router_ports_router"),
        index=True)
    port_type: Mapped[str] = mapped_column(String(64))


class FloatingIpRow(StandardAttrs, Base):
    __tablename__ = "network_floating_ips"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    floating_network_id: Mapped[str] = mapped_column(String(36), index=True)
    # The port (network:floatingip) that holds the address on the external network.
    floating_port_id: Mapped[str] = mapped_column(String(36), ForeignKey(
        "network_ports.id", ondelete="CASCADE", name="fk_network_floating_ips_port"))
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    fixed_port_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    router_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


class AutoAllocatedTopologyRow(Base):
    """The network and router auto-allocation made for a project: one per project."""

    __tablename__ = "network_auto_allocated_topologies"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey(
        "network_networks.id", ondelete="CASCADE", name="fk_network_auto_topology_network"))
    router_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
