"""migrations: moves of instances between hosts

Revision ID: 7d3e9b1c2a40
Revises: 5b7e2c4d9a10
Create Date: 2026-11-30 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7d3e9b1c2a40'
down_revision: str | None = '5b7e2c4d9a10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compute_migrations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('migration_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source_compute', sa.String(length=255), nullable=True),
    sa.Column('source_node', sa.String(length=255), nullable=True),
    sa.Column('dest_compute', sa.String(length=255), nullable=True),
    sa.Column('dest_node', sa.String(length=255), nullable=True),
    sa.Column('dest_host', sa.String(length=255), nullable=True),
    sa.Column('old_instance_type_id', sa.Integer(), nullable=True),
    sa.Column('new_instance_type_id', sa.Integer(), nullable=True),
    sa.Column('old_flavor', sa.JSON(), nullable=False),
    sa.Column('new_flavor', sa.JSON(), nullable=False),
    sa.Column('old_vm_state', sa.String(length=32), nullable=False),
    sa.Column('block_migration', sa.Boolean(), nullable=False),
    sa.Column('memory_total', sa.Integer(), nullable=True),
    sa.Column('memory_processed', sa.Integer(), nullable=True),
    sa.Column('memory_remaining', sa.Integer(), nullable=True),
    sa.Column('disk_total', sa.Integer(), nullable=True),
    sa.Column('disk_processed', sa.Integer(), nullable=True),
    sa.Column('disk_remaining', sa.Integer(), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_migrations')),
    sa.UniqueConstraint('uuid', name=op.f('uq_compute_migrations_uuid'))
    )
    op.create_index('ix_compute_migrations_instance', 'compute_migrations', ['instance_uuid'],
                    unique=False)
    op.create_index('ix_compute_migrations_source', 'compute_migrations',
                    ['source_compute', 'status'], unique=False)
    op.create_index('ix_compute_migrations_updated', 'compute_migrations', ['updated_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_compute_migrations_updated', table_name='compute_migrations')
    op.drop_index('ix_compute_migrations_source', table_name='compute_migrations')
    op.drop_index('ix_compute_migrations_instance', table_name='compute_migrations')
    op.drop_table('compute_migrations')
