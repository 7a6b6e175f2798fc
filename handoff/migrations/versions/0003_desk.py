"""the desk: agents' passwords, roles, language and presence; notes; ratings; tickets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='agent'))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=False, server_default='pl'))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('handoffs', schema=None) as batch_op:  # recent waits: the expected wait
        batch_op.create_index(batch_op.f('ix_handoffs_claimed_at'), ['claimed_at'], unique=False)
    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_conversation_id'), ['conversation_id'], unique=False)
    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_claimed_at'))
    op.drop_table('ratings')
    op.drop_table('notes')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('contact_email')
        batch_op.drop_column('ticket')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('language')
        batch_op.drop_column('role')
        batch_op.drop_column('password_hash')
