"""customer messages waiting for the bot (while it starts or is restarted)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bot_pending_from', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('bot_pending_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversations_bot_pending_since'), ['bot_pending_since'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_bot_pending_since'))
        batch_op.drop_column('bot_pending_since')
        batch_op.drop_column('bot_pending_from')
