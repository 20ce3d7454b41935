"""block device mappings

Revision ID: 6c8d1e2f3a40
Revises: 7d3e9b1c2a40
Create Date: 2026-11-30 14:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '6c8d1e2f3a40'
down_revision: str | None = '7d3e9b1c2a40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'compute_block_device_mappings',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('volume_id', sa.String(length=36), nullable=False),
        sa.Column('attachment_id', sa.String(length=36), nullable=True),
        sa.Column('device_name', sa.String(length=255), nullable=False),
        sa.Column('boot_index', sa.Integer(), nullable=True),
        sa.Column('source_type', sa.String(length=32), nullable=False),
        sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
        sa.Column('tag', sa.String(length=255), nullable=True),
        sa.Column('connection_info', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_block_device_mappings')))
    op.create_index(op.f('ix_compute_block_device_mappings_instance_uuid'),
                    'compute_block_device_mappings', ['instance_uuid'], unique=False)
    op.create_index('uq_compute_bdm_instance_volume', 'compute_block_device_mappings',
                    ['instance_uuid', 'volume_id'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_compute_bdm_instance_volume', table_name='compute_block_device_mappings')
    op.drop_index(op.f('ix_compute_block_device_mappings_instance_uuid'),
                  table_name='compute_block_device_mappings')
    op.drop_table('compute_block_device_mappings')
