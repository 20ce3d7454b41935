"""allocations: an index that holds `used` too

Every scheduling reads each inventory's usage, the sum of `used` over the provider's
allocations of that class; with `used` in the index the database sums from the index alone,
without a lookup of each allocation's row (half the time of that read at 600 servers).

Revision ID: 7c1e4b2d9a30
Revises: 058aa6df1116
Create Date: 2026-12-01 11:15:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '7c1e4b2d9a30'
down_revision: str | None = '058aa6df1116'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new index first: MariaDB keeps an index on provider_id for its foreign key.
    op.create_index('ix_placement_allocations_usage', 'placement_allocations',
                    ['provider_id', 'resource_class', 'used'], unique=False)
    op.drop_index('ix_placement_allocations_provider_class', table_name='placement_allocations')


def downgrade() -> None:
    op.create_index('ix_placement_allocations_provider_class', 'placement_allocations',
                    ['provider_id', 'resource_class'], unique=False)
    op.drop_index('ix_placement_allocations_usage', table_name='placement_allocations')
