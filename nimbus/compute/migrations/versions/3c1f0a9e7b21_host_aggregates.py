"""host aggregates

Revision ID: 3c1f0a9e7b21
Revises: ad545a0dbc43
Create Date: 2026-11-30 10:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3c1f0a9e7b21'
down_revision: str | None = 'ad545a0dbc43'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compute_aggregates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_aggregates')),
    sa.UniqueConstraint('uuid', name=op.f('uq_compute_aggregates_uuid')),
    sa.UniqueConstraint('name', name=op.f('uq_compute_aggregates_name'))
    )
    op.create_table('compute_aggregate_hosts',
    sa.Column('aggregate_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['aggregate_id'], ['compute_aggregates.id'], name=op.f('fk_compute_aggregate_hosts_aggregate_id_compute_aggregates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('aggregate_id', 'host', name=op.f('pk_compute_aggregate_hosts'))
    )
    op.create_table('compute_aggregate_metadata',
    sa.Column('aggregate_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['aggregate_id'], ['compute_aggregates.id'], name=op.f('fk_compute_aggregate_metadata_aggregate_id_compute_aggregates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('aggregate_id', 'key', name=op.f('pk_compute_aggregate_metadata'))
    )


def downgrade() -> None:
    op.drop_table('compute_aggregate_metadata')
    op.drop_table('compute_aggregate_hosts')
    op.drop_table('compute_aggregates')
