"""reconciliation and codebook versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:14:57.188245
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('codebook_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codebook_versions')),
    sa.UniqueConstraint('name', name=op.f('uq_codebook_versions_name'))
    )
    op.create_table('reconcile_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('coding_guids', sa.JSON(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('choice', sa.String(length=20), nullable=False),
    sa.Column('kept', sa.JSON(), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("choice IN ('agreed', 'keep', 'neither', 'edit')", name=op.f('ck_reconcile_decisions_choice')),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcripts.id'], name=op.f('fk_reconcile_decisions_transcript_id_transcripts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_decisions')),
    sa.UniqueConstraint('transcript_id', 'item_key', name='uq_reconcile_decisions_item')
    )
    with op.batch_alter_table('reconcile_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconcile_decisions_transcript_id'), ['transcript_id'], unique=False)

    with op.batch_alter_table('codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_codes_merged_into_id_codes'), 'codes', ['merged_into_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('codings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_codings_decision_id'), ['decision_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_codings_decision_id_reconcile_decisions'), 'reconcile_decisions', ['decision_id'], ['id'], ondelete='CASCADE')

    # The consensus coding is stored as its own coder, a user with role 'consensus'.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('lead', 'coder', 'viewer', 'consensus')")


def downgrade() -> None:
    op.execute("DELETE FROM codings WHERE coder_id IN (SELECT id FROM users WHERE role = 'consensus')")
    op.execute("DELETE FROM users WHERE role = 'consensus'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('lead', 'coder', 'viewer')")
    with op.batch_alter_table('codings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_codings_decision_id_reconcile_decisions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_codings_decision_id'))
        batch_op.drop_column('decision_id')

    with op.batch_alter_table('codes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_codes_merged_into_id_codes'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')

    with op.batch_alter_table('reconcile_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconcile_decisions_transcript_id'))

    op.drop_table('reconcile_decisions')
    op.drop_table('codebook_versions')
