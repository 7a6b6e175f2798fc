"""reporting facts written when they happen: reply times, decisions, FAQ entries served and
what followed them, unanswered questions, agents' first replies, NPS, follow-up conversations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 06:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_over', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('followed_up', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_conversations_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_ms', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('faq_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('gap', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_messages_faq_id'), ['faq_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_gap'), ['gap'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_handoffs_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nps', sa.Integer(), nullable=True))
    # Conversations from before this revision: handed over if they ever had a handoff.
    op.execute(
        "UPDATE conversations SET handed_over = "
        "EXISTS (SELECT 1 FROM handoffs WHERE handoffs.conversation_id = conversations.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_column('nps')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_created_at'))
        batch_op.drop_column('first_response_at')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_created_at'))
        batch_op.drop_index(batch_op.f('ix_messages_gap'))
        batch_op.drop_index(batch_op.f('ix_messages_faq_id'))
        for column in ('gap', 'outcome', 'faq_id', 'decision', 'reply_ms'):
            batch_op.drop_column(column)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_created_at'))
        batch_op.drop_column('followed_up')
        batch_op.drop_column('handed_over')
