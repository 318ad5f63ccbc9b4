"""keyed text hashes: a per-study secret keys every stored text hash (HMAC-SHA-256)

Existing hashes are re-keyed from the texts they were made of; a suggestion answer whose sentence
no longer exists is dropped; the embeddings cache is emptied (derived data: vectors are computed
again, under the keyed hashes, on first use or by `workbench embed`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:00:00
"""
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

KEY_NAME = "text_hash_key"


def _plain(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rehash(bind, digest) -> None:
    """Every stored text hash recomputed with `digest(text)`."""
    texts = dict(bind.execute(sa.text("SELECT id, text FROM transcripts")).all())
    bind.execute(sa.text("UPDATE transcripts SET content_hash = :h WHERE id = :i"),
                 [{"h": digest(text), "i": i} for i, text in texts.items()] or [{"h": "", "i": -1}])
    segments = bind.execute(sa.text('SELECT id, transcript_id, start, "end" FROM segments')).all()
    by_old: dict[tuple[int, str], str] = {}
    updates = []
    for segment_id, transcript_id, start, end in segments:
        sentence = texts[transcript_id][start:end]
        updates.append({"h": digest(sentence), "i": segment_id})
        by_old[(transcript_id, _plain(sentence))] = updates[-1]["h"]
        by_old[(transcript_id, updates[-1]["h"])] = updates[-1]["h"]
    if updates:
        bind.execute(sa.text("UPDATE segments SET text_hash = :h WHERE id = :i"), updates)
    for answer_id, transcript_id, start, end, old in bind.execute(sa.text(
            'SELECT id, transcript_id, start, "end", text_hash FROM suggestion_decisions')).all():
        sentence = texts[transcript_id][start:end]
        new = digest(sentence) if old in (_plain(sentence), digest(sentence)) else by_old.get((transcript_id, old))
        if new is None:  # the sentence it answered is gone
            bind.execute(sa.text("DELETE FROM suggestion_decisions WHERE id = :i"), {"i": answer_id})
        else:
            bind.execute(sa.text("UPDATE suggestion_decisions SET text_hash = :h WHERE id = :i"),
                         {"h": new, "i": answer_id})
    bind.execute(sa.text("DELETE FROM embeddings"))


def upgrade() -> None:
    op.create_table('study_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_study_secrets'))
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM transcripts")).scalar():
        key = secrets.token_bytes(32)
        bind.execute(sa.text("INSERT INTO study_secrets (name, value) VALUES (:n, :v)"), {"n": KEY_NAME, "v": key})
        _rehash(bind, lambda text: hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest())
    # (a study without transcripts gets its key with its first import: `workbench.store.secrets`)


def downgrade() -> None:
    _rehash(op.get_bind(), _plain)
    op.drop_table('study_secrets')
