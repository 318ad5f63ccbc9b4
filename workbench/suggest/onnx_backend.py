"""The ONNX Runtime backend: the sentence-transformers model exported once, int8-quantised.

Export uses `torch.onnx.export` on the model's transformer and ONNX Runtime's dynamic
quantisation of the MatMul operations only, per channel (quantising the embedding lookup as
well loses too much: cosine 0.86 to the original). Mean pooling and normalisation — what the
model's `modules.json` asks for — run in NumPy. The exported files live in the cache folder
(`WORKBENCH_CACHE_DIR`, default `~/.cache/workbench`), one folder per model, and are rebuilt
when the model's weights change.

Each text runs through the model on its own: dynamic quantisation takes one scale per MatMul
input over the whole tensor, so in a batch a text's vector would depend on the other texts and
on the padding (cosine down to 0.94), while stored vectors are keyed by the text alone. One by
one costs about what batches of 64 did: nothing is spent on padding.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..errors import WorkbenchError
from .model import DIMENSIONS_DTYPE, Embedder, ModelChoice, set_offline


def cache_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_CACHE_DIR") or Path.home() / ".cache" / "workbench")


def _weights_digest(model_path: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer.json"):
        path = model_path / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def quantised_model(model_path: Path) -> Path:
    """The int8 ONNX file for `model_path`, exported and quantised on first use."""
    target = cache_dir() / "onnx" / f"{model_path.name}-{_weights_digest(model_path)}" / "model-int8.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _export(model_path, target)
    return target


def _export(model_path: Path, target: Path) -> None:
    set_offline()
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    model = LastHiddenState(AutoModel.from_pretrained(str(model_path), local_files_only=True)).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory(dir=target.parent) as work, _quiet():
        plain = Path(work) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(model, example, str(plain), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes,
                              opset_version=17, dynamo=False)
        partial = Path(work) / "model-int8.onnx"
        quantize_dynamic(str(plain), str(partial), op_types_to_quantize=["MatMul"],
                         per_channel=True, weight_type=QuantType.QInt8)
        partial.replace(target)  # atomic: a half-written file is never picked up


@contextlib.contextmanager
def _quiet():
    """The exporter and quantiser warn about things that do not apply to this model."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _max_tokens(model_path: Path) -> int:
    config = model_path / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length") or 256)
    return 256


class OnnxEmbedder(Embedder):
    def __init__(self, choice: ModelChoice):
        set_offline()
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer_file = choice.path / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise WorkbenchError(f"{choice.path} has no tokenizer.json: the onnx backend needs one")
        self.key = choice.key
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_length=_max_tokens(choice.path))
        self.tokenizer.no_padding()  # tokenizer.json may pad every text to a fixed length
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3
        # Idle ONNX threads would otherwise spin and slow the NumPy ranking that follows.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(quantised_model(choice.path)), options,
                                                    providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.dimensions = int(self._encode_chunk(["dimension probe"]).shape[1])

    def _encode_chunk(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._encode_one(text) for text in texts])

    def _encode_one(self, text: str) -> np.ndarray:
        """One text as a batch of one, no padding: its vector depends on nothing else."""
        encoded = self.tokenizer.encode(text)
        ids = np.array([encoded.ids], dtype=np.int64)
        mask = np.array([encoded.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(DIMENSIONS_DTYPE)
