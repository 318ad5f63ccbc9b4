"""Sentence embeddings: the configured embedder, and the stored cache of vectors.

The model and its offline loading are in `model`; the two CPU backends are in `torch_backend`
and `onnx_backend`. Backends (`WORKBENCH_EMBEDDING_BACKEND`):
- `torch` (default): sentence-transformers on PyTorch's CPU build;
- `onnx`: the same model exported once with `torch.onnx.export`, its MatMul weights quantised
  to int8 per channel, run with ONNX Runtime and `tokenizers` (see `onnx_backend`). About
  three times faster; its vectors differ slightly (cosine ≥ 0.97 to torch's), so they are stored
  under their own model key and never mixed with torch's.

Vectors are stored in `embeddings`, keyed by (model key, the study's keyed hash of the text — the
hash segments carry as `text_hash`: see `store.secrets`), so the same text
in a re-import or another study is embedded once. Only missing ones are computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import WorkbenchError
from ..store.models import Embedding
from ..store.secrets import text_hasher
from .model import DIMENSIONS_DTYPE, Embedder, ModelChoice, Progress, model_choice
from .onnx_backend import OnnxEmbedder
from .torch_backend import TorchEmbedder


@lru_cache(maxsize=4)
def _embedder(choice: ModelChoice) -> Embedder:
    if choice.backend == "onnx":
        return OnnxEmbedder(choice)
    return TorchEmbedder(choice)


def embedder(model: str | None = None, backend: str | None = None) -> Embedder:
    """The embedder for the configured (or given) model and backend, loaded once per process."""
    return _embedder(model_choice(model, backend))


# --- the stored cache ----------------------------------------------------------------------

def _stored(session: Session, key: str, hashes: Iterable[str], *columns):
    """Rows of `columns` for the stored texts among `hashes`, 500 hashes per query."""
    wanted = list(dict.fromkeys(hashes))
    for first in range(0, len(wanted), 500):
        yield from session.execute(select(*columns).where(
            Embedding.model == key, Embedding.text_hash.in_(wanted[first:first + 500])))


def stored_hashes(session: Session, key: str, hashes: Iterable[str]) -> set[str]:
    return {h for (h,) in _stored(session, key, hashes, Embedding.text_hash)}


def load_vectors(session: Session, key: str, hashes: Sequence[str]) -> np.ndarray:
    """Stored vectors for `hashes`, in order (every one must be stored)."""
    rows = {h: np.frombuffer(blob, dtype=DIMENSIONS_DTYPE)
            for h, blob in _stored(session, key, hashes, Embedding.text_hash, Embedding.vector)}
    wanted = list(dict.fromkeys(hashes))
    missing = [h for h in wanted if h not in rows]
    if missing:
        raise WorkbenchError(f"{len(missing)} texts have no stored embedding for {key}: run `workbench embed`")
    return np.vstack([rows[h] for h in hashes]) if hashes else np.zeros((0, 0), dtype=DIMENSIONS_DTYPE)


def store_missing(session: Session, model: Embedder, texts: Sequence[str],
                  progress: Progress | None = None) -> int:
    """Embed and store every text of `texts` not stored yet for this model. Returns how many."""
    digest = text_hasher(session)
    by_hash = {digest(t): t for t in texts}
    stored = stored_hashes(session, model.key, by_hash)
    todo = [h for h in by_hash if h not in stored]
    if progress:
        progress(0, len(todo))
    if not todo:
        return 0
    vectors = model.encode([by_hash[h] for h in todo], progress)
    session.add_all(Embedding(model=model.key, text_hash=h, vector=v.tobytes()) for h, v in zip(todo, vectors))
    session.flush()
    return len(todo)


def embed_texts(session: Session, model: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Vectors for a few texts (code definitions, queries), from the cache or computed and stored."""
    store_missing(session, model, texts)
    digest = text_hasher(session)
    return load_vectors(session, model.key, [digest(t) for t in texts])
