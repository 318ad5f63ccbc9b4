"""framework summaries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:29:30.437454
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('framework_summaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('code_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['code_id'], ['codes.id'], name=op.f('fk_framework_summaries_code_id_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_framework_summaries_participant_id_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_framework_summaries')),
    sa.UniqueConstraint('participant_id', 'code_id', name='uq_framework_summaries_cell')
    )
    with op.batch_alter_table('framework_summaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_framework_summaries_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_framework_summaries_participant_id'), ['participant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('framework_summaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_framework_summaries_participant_id'))
        batch_op.drop_index(batch_op.f('ix_framework_summaries_code_id'))

    op.drop_table('framework_summaries')
