"""volume user messages, read-only flag unset until set

Revision ID: 61ac68fece7f
Revises: b77ca4926f2c
Create Date: 2026-11-30 10:52:46.972850
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '61ac68fece7f'
down_revision: str | None = 'b77ca4926f2c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('volume_messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('request_id', sa.String(length=255), nullable=False),
    sa.Column('resource_type', sa.String(length=36), nullable=False),
    sa.Column('resource_uuid', sa.String(length=36), nullable=True),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('message_level', sa.String(length=32), nullable=False),
    sa.Column('user_message', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_messages'))
    )
    with op.batch_alter_table('volume_messages', schema=None) as batch_op:
        batch_op.create_index('ix_volume_messages_project_created', ['project_id', 'created_at'], unique=False)

    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.alter_column('readonly',
               existing_type=sa.BOOLEAN(),
               nullable=True)
    # A flag nobody set is shown nowhere, as in Cinder.
    volumes = sa.table('volumes', sa.column('readonly', sa.Boolean))
    op.execute(volumes.update().where(volumes.c.readonly.is_(False)).values(readonly=None))


def downgrade() -> None:
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.alter_column('readonly',
               existing_type=sa.BOOLEAN(),
               nullable=False)

    with op.batch_alter_table('volume_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_volume_messages_project_created')

    op.drop_table('volume_messages')
