"""Placement's tables. Consumers, projects and users are other services' ids, kept as strings.

Resource classes and traits are referred to by name: the standard ones live in code
(`standard.py`), only custom ones have rows, so that no row is needed to name `VCPU`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Double, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nimbus.core import db


class Base(DeclarativeBase):
    metadata = db.new_metadata()


class ProviderRow(Base):
    __tablename__ = "placement_resource_providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Bumped by every change to the provider's inventory, allocations, traits or aggregates:
    # writers compare-and-swap on it (see service.generations).
    generation: Mapped[int] = mapped_column(Integer, default=0)
    parent_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("placement_resource_providers.id", name="fk_placement_rp_parent"),
        nullable=True, index=True)
    # Null only between the insert of a root and the update that points it at itself.
    root_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("placement_resource_providers.id", name="fk_placement_rp_root"),
        nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow, onupdate=db.utcnow)


class CustomResourceClassRow(Base):
    __tablename__ = "placement_custom_resource_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class InventoryRow(Base):
    __tablename__ = "placement_inventories"
    __table_args__ = (Index("ix_placement_inventories_resource_class", "resource_class"),)
    provider_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("placement_resource_providers.id", ondelete="CASCADE",
                            name="fk_placement_inv_rp"),
        primary_key=True)
    resource_class: Mapped[str] = mapped_column(String(255), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    min_unit: Mapped[int] = mapped_column(Integer)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer)
    allocation_ratio: Mapped[float] = mapped_column(Double)
    # What is allocated from this inventory: the sum of `used` over its allocations, kept by
    # every allocation write in that write's transaction (service/allocations.py), so that
    # reading usage costs one row per inventory whatever the number of allocations.
    used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow, onupdate=db.utcnow)


class CustomTraitRow(Base):
    __tablename__ = "placement_custom_traits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class ProviderTraitRow(Base):
    __tablename__ = "placement_provider_traits"
    __table_args__ = (Index("ix_placement_provider_traits_trait", "trait"),)
    provider_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("placement_resource_providers.id", ondelete="CASCADE",
                            name="fk_placement_rptrait_rp"),
        primary_key=True)
    trait: Mapped[str] = mapped_column(String(255), primary_key=True)


class ProviderAggregateRow(Base):
    __tablename__ = "placement_provider_aggregates"
    __table_args__ = (Index("ix_placement_provider_aggregates_aggregate", "aggregate"),)
    provider_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("placement_resource_providers.id", ondelete="CASCADE",
                            name="fk_placement_rpagg_rp"),
        primary_key=True)
    aggregate: Mapped[str] = mapped_column(String(36), primary_key=True)


class ConsumerRow(Base):
    """Exists while the consumer holds allocations; its generation guards their replacement."""

    __tablename__ = "placement_consumers"
    __table_args__ = (Index("ix_placement_consumers_project_user", "project_id", "user_id"),)
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    consumer_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow, onupdate=db.utcnow)


class AllocationRow(Base):
    __tablename__ = "placement_allocations"
    __table_args__ = (
        # `used` too: usage is summed from the index alone (the snapshot of every scheduling).
        Index("ix_placement_allocations_usage", "provider_id", "resource_class", "used"),
        Index("ix_placement_allocations_consumer", "consumer_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No cascade: a provider with allocations cannot be deleted.
    provider_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("placement_resource_providers.id", name="fk_placement_alloc_rp"))
    consumer_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("placement_consumers.uuid", ondelete="CASCADE",
                                       name="fk_placement_alloc_consumer"))
    resource_class: Mapped[str] = mapped_column(String(255))
    used: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
