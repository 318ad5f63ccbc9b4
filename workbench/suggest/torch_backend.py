"""The torch backend: sentence-transformers on PyTorch's CPU build (the reference vectors)."""

from __future__ import annotations

import numpy as np

from .model import BATCH_SIZE, Embedder, ModelChoice, set_offline


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
