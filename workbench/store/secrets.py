"""The study's secrets, kept in its database: the key of every stored text hash.

Hashes identify texts (a sentence, its window, its turn) for the embeddings cache, suggestion
answers and duplicate imports. Keyed with the study's own secret, a hash copied out of the
database cannot be tested against guessed texts (a template with names from a list); and when a
text is redacted every row derived from it is deleted (`privacy/revisions.py`), so no hash of
the old text remains at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..canonical import content_hash
from .models import StudySecret

TEXT_HASH_KEY = "text_hash_key"


def new_key() -> bytes:
    return secrets.token_bytes(32)


def text_key(session: Session) -> bytes:
    """The study's text-hash key (made by the migration that created the table)."""
    cached = session.info.get(TEXT_HASH_KEY)
    if cached is None:
        cached = session.scalar(select(StudySecret.value).where(StudySecret.name == TEXT_HASH_KEY))
        if cached is None:  # a database restored from a backup made before keys existed
            cached = new_key()
            session.add(StudySecret(name=TEXT_HASH_KEY, value=cached))
            session.flush()
        session.info[TEXT_HASH_KEY] = cached
    return cached


def text_hasher(session: Session) -> Callable[[str], str]:
    """The function giving a text's stored hash in this study."""
    key = text_key(session)
    return lambda text: content_hash(text, key)
