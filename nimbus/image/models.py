"""Image's tables. Other services refer to images by id only.

Rows stay inside `nimbus.image.service`; what leaves it is a `domain` dataclass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nimbus.core import db


class Base(DeclarativeBase):
    metadata = db.new_metadata()
    type_annotation_map = {dict[str, Any]: JSON}


class ImageRow(Base):
    __tablename__ = "image_images"
    __table_args__ = (Index("ix_image_images_owner_created", "owner", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    visibility: Mapped[str] = mapped_column(String(20), index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disk_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    container_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(32), nullable=True)
    os_hash_algo: Mapped[str | None] = mapped_column(String(64), nullable=True)
    os_hash_value: Mapped[str | None] = mapped_column(String(128), nullable=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    # Where the store keeps the bytes; None until an upload or import completes.
    store: Mapped[str | None] = mapped_column(String(64), nullable=True)
    location: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class PropertyRow(Base):
    __tablename__ = "image_properties"
    __table_args__ = (Index("ix_image_properties_name", "name"),)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("image_images.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TagRow(Base):
    __tablename__ = "image_tags"
    __table_args__ = (Index("ix_image_tags_value", "value"),)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("image_images.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class MemberRow(Base):
    __tablename__ = "image_members"
    __table_args__ = (Index("ix_image_members_member", "member"),)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("image_images.id", ondelete="CASCADE"), primary_key=True)
    member: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class StagingRow(Base):
    """Data staged for glance-direct import: checksums are computed while it streams in."""

    __tablename__ = "image_staging"
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("image_images.id", ondelete="CASCADE"), primary_key=True)
    store: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(32))
    os_hash_value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)


class TaskRow(Base):
    """An import task, as `GET /v2/images/{id}/tasks` (API 2.12) shows it."""

    __tablename__ = "image_tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("image_images.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=db.utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
