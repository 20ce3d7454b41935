"""services registered under Nova's and Cinder's binary names

Revision ID: b7c2e91d4f30
Revises: a4f0fdf85b01
Create Date: 2026-11-30 11:25:00

OpenStack tooling finds compute services by Nova's binary names (`openstack compute service
set HOST nova-compute`, Tempest, Ansible), volume services by Cinder's: rows registered before the rename take them too.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b7c2e91d4f30'
down_revision: str | None = 'a4f0fdf85b01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMES = {
    "nimbus-compute": "nova-compute",
    "nimbus-conductor": "nova-conductor",
    "nimbus-scheduler": "nova-scheduler",
    "nimbus-volume": "cinder-volume",
    "nimbus-volume-scheduler": "cinder-scheduler",
}

services = sa.table("services", sa.column("binary", sa.String))


def _rename(names: dict[str, str]) -> None:
    for old, new in names.items():
        op.execute(services.update().where(services.c.binary == old).values(binary=new))


def upgrade() -> None:
    _rename(RENAMES)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMES.items()})
