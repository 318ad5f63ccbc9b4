"""Suggestion speed on this machine, with baselines run in the same process:

1. embedding throughput (texts/s) on the sample study's participant sentences: calling
   sentence-transformers directly, the workbench's torch path, and the int8 ONNX path;
2. ranking 100,000 units for one code once vectors exist (target under 0.2 s): the sample's
   context vectors tiled with noise to 100,000 rows, its sentences repeated for TF-IDF;
3. the stored cache: embedding the whole sample study (sentences, windows and turns) cold, then
   again when every vector is stored, and loading the corpus cold and warm.

Run: .venv/bin/python benchmarks/suggest_speed.py [--repeat 3] [--units 100000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--units", type=int, default=100_000)
    args = parser.parse_args()

    import numpy as np
    import torch

    from workbench.sample import load_sample_study
    from workbench.store import Study
    from workbench.suggest import corpus as corpus_module
    from workbench.suggest.corpus import embed_study, load_corpus, read_units
    from workbench.suggest.embeddings import embedder
    from workbench.suggest.model import model_choice, set_offline
    from workbench.suggest.ranking import Evidence, TextIndex, scores, top

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}, Python {platform.python_version()}")
    work = Path(tempfile.mkdtemp())
    os.environ.setdefault("WORKBENCH_CACHE_DIR", str(work / "cache"))
    try:
        study = Study.open(f"sqlite:///{work / 'sample.db'}")
        load_sample_study(study)
        with study.session() as session:
            sentences = read_units(session).sentence_texts

        # 1. throughput
        set_offline()
        from sentence_transformers import SentenceTransformer

        direct = SentenceTransformer(str(model_choice().path), device="cpu")
        torch_path, onnx_path = embedder(backend="torch"), embedder(backend="onnx")
        direct.encode(sentences[:64], batch_size=64)  # warm-up
        t_direct = best_of(args.repeat, lambda: direct.encode(sentences, batch_size=64, normalize_embeddings=True))
        t_torch = best_of(args.repeat, lambda: torch_path.encode(sentences))
        t_onnx = best_of(args.repeat, lambda: onnx_path.encode(sentences))
        a, b = direct.encode(sentences, batch_size=64, normalize_embeddings=True), onnx_path.encode(sentences)
        cosine = (a * b).sum(1)
        n = len(sentences)
        print(f"\n1. embedding {n} sentences (best of {args.repeat})")
        print(f"   sentence-transformers directly: {n / t_direct:7.0f}/s ({t_direct:.2f} s)")
        print(f"   workbench, torch:               {n / t_torch:7.0f}/s ({t_torch:.2f} s), "
              f"ratio to direct {t_direct / t_torch:.2f}")
        print(f"   workbench, onnx int8:           {n / t_onnx:7.0f}/s ({t_onnx:.2f} s), "
              f"ratio to direct {t_direct / t_onnx:.2f}; cosine to torch min {cosine.min():.3f} "
              f"mean {cosine.mean():.3f}")

        # 3. cache (before 2, which needs the vectors)
        fresh = work / "fresh.db"
        shutil.copy(work / "sample.db", fresh)
        copy = Study.open(f"sqlite:///{fresh}")
        started = time.perf_counter()
        computed = embed_study(copy, torch_path)
        cold = time.perf_counter() - started
        warm = best_of(args.repeat, lambda: embed_study(copy, torch_path))
        corpus_module._CACHE.clear()
        started = time.perf_counter()
        corpus = load_corpus(copy, torch_path)
        load_cold = time.perf_counter() - started
        load_warm = best_of(args.repeat, lambda: load_corpus(copy, torch_path))
        print(f"\n3. stored cache, whole sample study ({computed} texts: sentences, windows, turns)")
        print(f"   embed cold {cold:.1f} s; again with everything stored {warm:.3f} s "
              f"(speed-up {cold / warm:.0f}x)")
        print(f"   load corpus from the database {load_cold:.2f} s; cached in the process {load_warm * 1000:.2f} ms")

        # 2. ranking at scale
        rng = np.random.default_rng(0)
        reps = -(-args.units // len(corpus))
        context = np.tile(corpus.context, (reps, 1))[:args.units]
        context = context + 0.02 * rng.standard_normal(context.shape).astype(np.float32)
        context /= np.linalg.norm(context, axis=1, keepdims=True)
        sentence = context
        texts = (corpus.sentence_texts * reps)[:args.units]
        started = time.perf_counter()
        index = TextIndex(texts)
        fit = time.perf_counter() - started
        positives = rng.choice(args.units, 30, replace=False)
        negatives = rng.choice(np.setdiff1d(np.arange(args.units), positives), 20_000, replace=False)
        evidence = Evidence("The 12-week limit. Support ending after twelve weeks", corpus.context[0],
                            positives, negatives)
        candidates = np.ones(args.units, dtype=bool)
        candidates[positives] = False
        timings = []
        for _ in range(max(args.repeat, 5)):
            started = time.perf_counter()
            top(scores("workbench", sentence, context, index, evidence), candidates, 20)
            timings.append(time.perf_counter() - started)
        print(f"\n2. ranking {args.units} units for one code (30 positives, 20,000 negatives, "
              f"classifier + TF-IDF): median {statistics.median(timings):.3f} s, "
              f"best {min(timings):.3f} s (target < 0.2 s); TF-IDF fitted once per corpus in {fit:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
