"""lemma index and memos

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:13:41.541676
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('memos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=True),
    sa.Column('code_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_memos_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['code_id'], ['codes.id'], name=op.f('fk_memos_code_id_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcripts.id'], name=op.f('fk_memos_transcript_id_transcripts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memos'))
    )
    with op.batch_alter_table('memos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memos_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memos_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memos_transcript_id'), ['transcript_id'], unique=False)

    op.create_table('tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('lemma', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_tokens_segment_id_segments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcripts.id'], name=op.f('fk_tokens_transcript_id_transcripts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens'))
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index('ix_tokens_lemma', ['lemma'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_segment_id'), ['segment_id'], unique=False)
        batch_op.create_index('ix_tokens_transcript_position', ['transcript_id', 'position'], unique=False)

    backfill_tokens()


def backfill_tokens() -> None:
    """Fill the lemma index from the lemmas every import already stored per segment."""
    segments = sa.table("segments", sa.column("id", sa.Integer), sa.column("transcript_id", sa.Integer),
                        sa.column("start", sa.Integer), sa.column("lemmas", sa.JSON))
    tokens = sa.table("tokens", sa.column("segment_id", sa.Integer), sa.column("transcript_id", sa.Integer),
                      sa.column("position", sa.Integer), sa.column("start", sa.Integer),
                      sa.column("end", sa.Integer), sa.column("lemma", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(segments.c.id, segments.c.transcript_id, segments.c.lemmas)
                              .order_by(segments.c.transcript_id, segments.c.start))
    batch, position, current = [], 0, None
    for segment_id, transcript_id, lemmas in rows:
        if transcript_id != current:
            current, position = transcript_id, 0
        for start, end, lemma in lemmas or []:
            batch.append(dict(segment_id=segment_id, transcript_id=transcript_id, position=position,
                              start=start, end=end, lemma=lemma[:100]))
            position += 1
        if len(batch) >= 5000:
            connection.execute(tokens.insert(), batch)
            batch = []
    if batch:
        connection.execute(tokens.insert(), batch)


def downgrade() -> None:
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_tokens_transcript_position')
        batch_op.drop_index(batch_op.f('ix_tokens_segment_id'))
        batch_op.drop_index('ix_tokens_lemma')

    op.drop_table('tokens')
    with op.batch_alter_table('memos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memos_transcript_id'))
        batch_op.drop_index(batch_op.f('ix_memos_code_id'))
        batch_op.drop_index(batch_op.f('ix_memos_author_id'))

    op.drop_table('memos')
