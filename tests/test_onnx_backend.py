"""The int8 ONNX Runtime embedding backend on its own: its vectors, its agreement with the torch
backend, batching, edge-case inputs, and the cached export.

The model is the installed package (no network). The export takes some seconds, so it is done
once per module, into a temporary WORKBENCH_CACHE_DIR (never the user's home cache).
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from workbench.errors import WorkbenchError
from workbench.suggest import onnx_backend
from workbench.suggest.embeddings import embedder
from workbench.suggest.model import ModelChoice, model_choice
from workbench.suggest.onnx_backend import (
    OnnxEmbedder,
    _max_tokens,
    cache_dir,
    quantised_model,
)

SENTENCES = [
    "I didn't think they would ring back.",
    "The key worker came every week and that really helped.",
    "Honestly? It was our place, a café after the group.",
    "My son started at the new school in September.",
    "I was scared to tell anyone what was going on at home.",
    "We moved house three times that year.",
    "She just listened, she didn't judge me.",
    "The group made me feel less alone 😀.",
    "Zoë said the refuge was the first safe place she'd had.",
    "Money was always the worry, the bills and that.",
    "I'd say to other mums: ask for help early, don't wait.",
    "Siobhán from the service sorted the housing forms for us.",
]
LONG = "I felt that nobody was listening to me at all, not the school and not the council, " * 40


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def choice():
    return model_choice(backend="onnx")


@pytest.fixture(scope="module")
def onnx(cache, choice):
    """Built directly (not through `embedder`'s per-process cache) so the export lands in `cache`."""
    return OnnxEmbedder(choice)


@pytest.fixture(scope="module")
def torch_model():
    return embedder(backend="torch")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- vectors ---------------------------------------------------------------------------------

def test_vectors_are_unit_length_float32_of_the_models_dimension(onnx, choice):
    hidden = json.loads((choice.path / "config.json").read_text())["hidden_size"]
    vectors = onnx.encode(SENTENCES)
    assert onnx.dimensions == hidden
    assert vectors.shape == (len(SENTENCES), hidden) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len({v.tobytes() for v in vectors}) == len(SENTENCES)  # different sentences, different vectors
    assert onnx.key == "all-MiniLM-L6-v2+onnx-int8-v2" == choice.key != model_choice(backend="torch").key


def test_the_configured_embedder_is_this_backend(onnx):
    model = embedder(backend="onnx")
    assert isinstance(model, OnnxEmbedder) and model.key == onnx.key and model.dimensions == onnx.dimensions


def test_vectors_agree_with_the_torch_backend(onnx, torch_model):
    ours, reference = onnx.encode(SENTENCES), torch_model.encode(SENTENCES)
    assert ours.shape == reference.shape
    assert cosines(ours, reference).min() >= 0.97
    # each sentence is closest to its own torch vector among the twelve
    assert (np.argmax(ours @ reference.T, axis=1) == np.arange(len(SENTENCES))).all()


# --- batching --------------------------------------------------------------------------------

def test_order_of_the_list_does_not_change_the_vectors(onnx):
    vectors = onnx.encode(SENTENCES)
    order = list(range(len(SENTENCES)))
    random.Random(7).shuffle(order)
    np.testing.assert_allclose(onnx.encode([SENTENCES[i] for i in order]), vectors[order], atol=1e-6)
    np.testing.assert_allclose(onnx.encode(SENTENCES[::-1]), vectors[::-1], atol=1e-6)


def test_vectors_come_back_in_input_order_across_chunks(onnx, torch_model):
    """72 texts are two chunks of at most 64 (sorted by length inside); every row must still be
    its own text's vector."""
    reference = torch_model.encode(SENTENCES)
    which = [i % len(SENTENCES) for i in range(6 * len(SENTENCES))]
    random.Random(3).shuffle(which)
    progress = []
    vectors = onnx.encode([SENTENCES[i] for i in which], lambda done, total: progress.append((done, total)))
    assert progress == [(64, 72), (72, 72)]
    assert (np.argmax(vectors @ reference.T, axis=1) == np.array(which)).all()
    assert cosines(vectors, reference[which]).min() >= 0.97


def test_a_text_batched_with_others_stays_close_to_the_text_alone(onnx):
    together = onnx.encode(SENTENCES)
    alone = np.vstack([onnx.encode([s]) for s in SENTENCES])
    assert cosines(together, alone).min() >= 0.97


@pytest.mark.parametrize("companions", [
    pytest.param([], id="alone"),
    pytest.param(SENTENCES, id="the-others"),
    pytest.param([LONG], id="a-long-text-pads-the-batch"),
    pytest.param(["", "ok", "Yes."], id="short-texts"),
    pytest.param(SENTENCES * 6, id="across-chunks"),
])
def test_a_texts_vector_does_not_depend_on_its_batch(onnx, companions):
    """Dynamic int8 quantisation scales each MatMul input over the whole tensor: batched, a text's
    vector would depend on its companions and the padding, while stored vectors are keyed by the
    text alone."""
    alone = np.vstack([onnx.encode([s]) for s in SENTENCES])
    mixed = list(companions) + SENTENCES
    random.Random(11).shuffle(mixed)
    vectors = onnx.encode(mixed)
    for k, sentence in enumerate(mixed):
        if sentence in SENTENCES:
            np.testing.assert_allclose(vectors[k], alone[SENTENCES.index(sentence)], atol=1e-5)


# --- edge-case inputs --------------------------------------------------------------------------

def test_empty_and_blank_texts_get_a_unit_vector(onnx):
    empty, blank = onnx.encode([""])[0], onnx.encode(["   \n\t"])[0]
    assert np.isfinite(empty).all() and np.linalg.norm(empty) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(blank, empty, atol=1e-6)  # whitespace is no token: the same input
    assert onnx.encode([]).shape == (0, onnx.dimensions)


def test_text_beyond_the_token_limit_is_truncated(onnx, torch_model, choice):
    assert _max_tokens(choice.path) == 256  # the model's sentence_bert_config.json says max_seq_length 256
    assert len(onnx.tokenizer.encode(LONG).ids) == 256
    long, longer = onnx.encode([LONG])[0], onnx.encode([LONG + " Then we went to the football."])[0]
    np.testing.assert_allclose(long, longer, atol=1e-6)  # what follows the limit is not read
    assert np.linalg.norm(long) == pytest.approx(1.0, abs=1e-5)
    assert cosines(long[None], torch_model.encode([LONG])).min() >= 0.97


# --- the export and its cache --------------------------------------------------------------------

def test_the_export_is_cached_and_not_redone(onnx, cache, choice, monkeypatch):
    path = quantised_model(choice.path)
    assert path.is_file() and path.name == "model-int8.onnx"
    assert path.parent.parent == cache / "onnx" and path.parent.name.startswith(f"{choice.path.name}-")
    assert [p.name for p in path.parent.iterdir()] == ["model-int8.onnx"]  # no half-written leftovers
    stamp = path.stat().st_mtime_ns

    def no_export(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_backend, "_export", no_export)
    assert quantised_model(choice.path) == path
    assert path.stat().st_mtime_ns == stamp


def _linked_copy(source, target, changed_config: bool):
    target.mkdir(parents=True)
    for item in source.iterdir():
        if item.name == "config.json" and changed_config:
            config = json.loads(item.read_text())
            config["layer_norm_eps"] = config.get("layer_norm_eps", 1e-12) * 10
            (target / item.name).write_text(json.dumps(config))
        else:
            (target / item.name).symlink_to(item)
    return target


def test_changed_weights_get_their_own_export_and_the_same_weights_elsewhere_do_not(onnx, cache, choice, tmp_path,
                                                                                    monkeypatch):
    exports = []

    def fake_export(model_path, target):
        exports.append((model_path, target))
        target.write_bytes(b"fake")

    monkeypatch.setattr(onnx_backend, "_export", fake_export)
    original = quantised_model(choice.path)
    # the same files in another folder of the same name: the same digest, the existing export
    same = _linked_copy(choice.path, tmp_path / "same" / choice.path.name, changed_config=False)
    assert quantised_model(same) == original and exports == []
    # a changed config.json: a new folder in the cache, exported once
    changed = _linked_copy(choice.path, tmp_path / "changed" / choice.path.name, changed_config=True)
    target = quantised_model(changed)
    assert target != original and target.parent.parent == cache / "onnx"
    assert exports == [(changed, target)] and target.read_bytes() == b"fake"
    assert quantised_model(changed) == target and len(exports) == 1


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", "")
    assert cache_dir() == tmp_path / "home" / ".cache" / "workbench"
    monkeypatch.delenv("WORKBENCH_CACHE_DIR")
    assert cache_dir() == tmp_path / "home" / ".cache" / "workbench"


@pytest.mark.parametrize("config, tokens", [
    ({"max_seq_length": 128, "do_lower_case": False}, 128),
    ({"max_seq_length": 512}, 512),
    ({"max_seq_length": None}, 256),
    ({}, 256),
    (None, 256),  # no sentence_bert_config.json
])
def test_max_tokens(tmp_path, config, tokens):
    if config is not None:
        (tmp_path / "sentence_bert_config.json").write_text(json.dumps(config))
    assert _max_tokens(tmp_path) == tokens


def test_a_model_folder_without_tokenizer_json_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(WorkbenchError, match="tokenizer.json"):
        OnnxEmbedder(ModelChoice(tmp_path, "plain", "onnx"))
