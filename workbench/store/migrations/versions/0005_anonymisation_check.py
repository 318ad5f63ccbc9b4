"""anonymisation check

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 09:39:24.820772
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('allowed_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('added_by', sa.String(length=100), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allowed_terms')),
    sa.UniqueConstraint('term', name=op.f('uq_allowed_terms_term'))
    )
    op.create_table('ignored_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('ignored_by', sa.String(length=100), nullable=False),
    sa.Column('ignored_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcripts.id'], name=op.f('fk_ignored_findings_transcript_id_transcripts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ignored_findings'))
    )
    with op.batch_alter_table('ignored_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ignored_findings_transcript_id'), ['transcript_id'], unique=False)

    with op.batch_alter_table('codings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag', sa.String(length=200), nullable=True))

    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
    # Transcripts already in a study were released to coders before the check existed: they stay
    # released, and say so.
    op.execute("UPDATE transcripts SET reviewed_at = imported_at, reviewed_by = 'upgrade', "
               "review_note = 'released before the anonymisation check existed'")



def downgrade() -> None:
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('review_note')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('reviewed_at')

    with op.batch_alter_table('codings', schema=None) as batch_op:
        batch_op.drop_column('flag')

    with op.batch_alter_table('ignored_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ignored_findings_transcript_id'))

    op.drop_table('ignored_findings')
    op.drop_table('allowed_terms')
