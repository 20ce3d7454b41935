"""Compute's tables. Images, projects and users of other services are referred to by id only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nimbus.core import db


class Base(DeclarativeBase):
    metadata = db.new_metadata()
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class FlavorRow(Base):
    __tablename__ = "compute_flavors"
    # Nova keeps an integer key inside and shows the string `flavorid` outside.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class FlavorExtraSpecRow(Base):
    __tablename__ = "compute_flavor_extra_specs"
    flavor_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProjectRow(Base):
    """Which projects may use a private flavor."""

    __tablename__ = "compute_flavor_projects"
    flavor_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class KeypairRow(Base):
    __tablename__ = "compute_keypairs"
    __table_args__ = (Index("uq_compute_keypairs_user_name", "user_id", "name", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class InstanceRow(Base):
    """A server. Rows are soft-deleted (`deleted_at`), so `changes-since` can show deletions."""

    __tablename__ = "compute_instances"
    # Soft-deleted rows pile up: live ones (quota counts, lists) and changed ones
    # (changes-since) are found without reading the deleted, as Nova's indexes do.
    __table_args__ = (Index("ix_compute_instances_project_live_created", "project_id",
                            "deleted_at", "created_at"),
                      Index("ix_compute_instances_project_updated", "project_id", "updated_at"),
                      Index("ix_compute_instances_host", "host"))
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    hostname: Mapped[str] = mapped_column(String(255))
    image_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The flavor as it was at boot: later flavor edits or deletion do not change a server.
    flavor: Mapped[dict[str, Any]] = mapped_column()
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    config_drive: Mapped[str] = mapped_column(String(255), default="")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    locked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reservation_id: Mapped[str] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    access_ip_v4: Mapped[str | None] = mapped_column(String(39), nullable=True)
    access_ip_v6: Mapped[str | None] = mapped_column(String(39), nullable=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # What scheduling needs again on a retry or a move: hints, requested AZ and host,
    # requested networks, image properties, hosts already tried.
    request_spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    system_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The ports of the server as the agent bound them (Nova's network info cache): a list of
    # {port_id, network_id, network_name, mac_address, fixed_ips, mtu, created, tag};
    # floating IPs are asked of the network service when the server is shown.
    network_info: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    launched_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class InstanceMetadataRow(Base):
    __tablename__ = "compute_instance_metadata"
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("compute_instances.uuid", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class InstanceTagRow(Base):
    __tablename__ = "compute_instance_tags"
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("compute_instances.uuid", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True)


class InstanceActionRow(Base):
    """One user-visible operation on a server (os-instance-actions)."""

    __tablename__ = "compute_instance_actions"
    __table_args__ = (Index("ix_compute_instance_actions_instance", "instance_uuid", "start_time"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    project_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message: Mapped[str | None] = mapped_column(String(255), nullable=True)
    start_time: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class InstanceActionEventRow(Base):
    """One step of an action (compute__do_build_and_run_instance, ...), with where it ran."""

    __tablename__ = "compute_instance_action_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    result: Mapped[str | None] = mapped_column(String(255), nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    start_time: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class InstanceFaultRow(Base):
    __tablename__ = "compute_instance_faults"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class ServerGroupRow(Base):
    __tablename__ = "compute_server_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(32))
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class ServerGroupMemberRow(Base):
    __tablename__ = "compute_server_group_members"
    group_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_server_groups.id", ondelete="CASCADE"), primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)


class QuotaRow(Base):
    """A per-project limit that differs from the configured default."""

    __tablename__ = "compute_quotas"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class ComputeNodeRow(Base):
    """A hypervisor as os-hypervisors shows it; its uuid is its placement resource provider's."""

    __tablename__ = "compute_nodes"
    __table_args__ = (Index("uq_compute_nodes_host_node", "host", "hypervisor_hostname", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    hypervisor_type: Mapped[str] = mapped_column(String(255))
    hypervisor_version: Mapped[int] = mapped_column(Integer)
    host_ip: Mapped[str] = mapped_column(String(39))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    cpu_info: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AggregateRow(Base):
    """A host aggregate; its uuid is also the placement aggregate of its hosts' providers."""

    __tablename__ = "compute_aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AggregateHostRow(Base):
    __tablename__ = "compute_aggregate_hosts"
    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)


class AggregateMetadataRow(Base):
    """Key-value pairs of an aggregate; `availability_zone` names its hosts' zone."""

    __tablename__ = "compute_aggregate_metadata"
    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class MigrationRow(Base):
    """A move of an instance between hosts (Nova's `migrations`): resize, cold and live
    migration, evacuation. While it runs, its uuid is the placement consumer that holds the
    instance's allocation on the source host."""

    __tablename__ = "compute_migrations"
    __table_args__ = (Index("ix_compute_migrations_instance", "instance_uuid"),
                      Index("ix_compute_migrations_source", "source_compute", "status"),
                      Index("ix_compute_migrations_updated", "updated_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    # "migration" (cold), "resize", "live-migration" or "evacuation"
    migration_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    source_compute: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source_node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dest_compute: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dest_node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dest_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Nova shows its flavors' integer ids; the flavors themselves, as the instance had them.
    old_instance_type_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    new_instance_type_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    old_flavor: Mapped[dict[str, Any]] = mapped_column()
    new_flavor: Mapped[dict[str, Any]] = mapped_column()
    # The vm_state to go back to when the move ends (a stopped server stays stopped).
    old_vm_state: Mapped[str] = mapped_column(String(32))
    # Live migration: send the disks too (no shared storage); progress while it runs.
    block_migration: Mapped[bool] = mapped_column(Boolean, default=False)
    memory_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    memory_processed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    memory_remaining: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disk_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disk_processed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disk_remaining: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class BlockDeviceMappingRow(Base):
    """A volume of a server (Nova's BDM): what the API reserved and the agent connected.

    Rows are removed when the volume is detached or the server deleted; a volume appears once
    per server.
    """

    __tablename__ = "compute_block_device_mappings"
    __table_args__ = (Index("uq_compute_bdm_instance_volume", "instance_uuid", "volume_id",
                            unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    volume_id: Mapped[str] = mapped_column(String(36))
    # Cinder's attachment (3.27+) that holds the volume for this server.
    attachment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    device_name: Mapped[str] = mapped_column(String(255))
    boot_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_type: Mapped[str] = mapped_column(String(32), default="volume")
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # os-brick's shape as the volume service answered the host: how the guest reaches it.
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
