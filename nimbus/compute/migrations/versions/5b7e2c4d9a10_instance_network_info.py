"""instance network info cache

Revision ID: 5b7e2c4d9a10
Revises: 4a12d2fc1fa4
Create Date: 2026-11-30 11:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b7e2c4d9a10'
down_revision: str | None = '4a12d2fc1fa4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('compute_instances', sa.Column('network_info', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('compute_instances', 'network_info')
