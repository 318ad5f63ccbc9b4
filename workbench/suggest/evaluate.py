"""How well suggestions rank, measured on a coded study (`workbench suggest-eval`).

Protocol, per coder: for each code the coder applied at least `min_uses` times, draw `k` of
its codings as seeds and hide the rest; rank every unit of the coder's transcripts that the
seeds do not cover, from the seeds, the code's text and the coder's other codings (exactly
what a suggestion would use); a unit is relevant when the hidden codings cover at least half
of it (the agreement module's rule). Average precision over the whole ranking and precision
at 10 are averaged over the codes of one draw; `draws` seeded draws give the mean ± sd.
Every method sees the same seeds, candidates and relevant units.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from ..access import Actor, is_coding_account, require
from ..codebook.study import CodeIndex
from ..errors import ValidationError
from ..store import Study
from ..store.models import Assignment, Coding, Transcript, User
from .corpus import load_corpus
from .embeddings import embed_texts, embedder
from .model import Embedder
from .ranking import METHODS, Evidence, average_precision, precision_at, scores
from .study import code_text, counter_examples, spans_by_transcript

DEFAULT_METHODS = ("workbench", "tfidf", "random")


@dataclass
class EvalRow:
    coder: str
    k: int
    method: str
    map: float
    map_sd: float
    p10: float
    p10_sd: float
    codes: int
    draws: int
    vs_tfidf: float | None = None

    def as_json(self) -> dict:
        return {key: (round(value, 4) if isinstance(value, float) else value)
                for key, value in self.__dict__.items()}


def evaluate(study: Study, actor: Actor, coders: list[str] | None = None, ks: tuple[int, ...] = (1, 3),
             draws: int = 20, min_uses: int = 5, methods: tuple[str, ...] = DEFAULT_METHODS,
             model: Embedder | None = None, progress: Callable[[int, int], None] | None = None,
             embedding_progress: Callable[[int, int], None] | None = None) -> list[EvalRow]:
    for method in methods:
        if method not in METHODS:
            raise ValidationError(f"unknown method {method!r}; expected some of {', '.join(METHODS)}")
    require(actor, "suggest")
    if (coders or [actor.name]) != [actor.name]:
        require(actor, "act_for_other_coders", doing="evaluate suggestions for another coder")
    model = model or embedder()
    corpus = load_corpus(study, model, embedding_progress)
    index = corpus.text_index
    with study.transaction() as session:
        names = coders or list(session.scalars(select(User.name).where(is_coding_account())
                                               .order_by(User.name)))
        codes = CodeIndex(session).codes
        tasks = []
        for name in names:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise ValidationError(f"no user named {name!r}")
            rows = session.execute(select(Coding.code_id, Coding.transcript_id, Coding.start, Coding.end)
                                   .where(Coding.coder_id == user.id)).all()
            assigned = list(session.scalars(select(Assignment.transcript_id).join(Transcript)
                                            .where(Assignment.coder_id == user.id,
                                                   Transcript.reviewed_at.is_not(None))))
            candidates = np.isin(corpus.transcript_of, assigned or [-1])
            used = {}
            for code_id, *span in rows:
                used.setdefault(code_id, []).append(tuple(span))
            for code in sorted((c for c in codes if len(used.get(c.id, [])) >= min_uses), key=lambda c: c.id):
                vector = embed_texts(session, model, [code_text(code)])[0]
                tasks.append((name, code, vector, used[code.id], rows, candidates))
    results: dict[tuple[str, int, str], list[list[tuple[float, float]]]] = {}
    done, total = 0, len(tasks) * len(ks) * draws
    for name, code, vector, own, rows, candidates in tasks:
        negative = counter_examples(corpus, rows, codes, code)
        for k in ks:
            if len(own) <= k:
                continue
            for draw in range(draws):
                rnd = random.Random(f"{draw}:{code.guid}:{k}")
                seeds = rnd.sample(own, k)
                hidden = [span for span in own if span not in seeds]
                positive = corpus.covered(spans_by_transcript(seeds))
                ranked_over = candidates & ~positive
                relevant = corpus.covered(spans_by_transcript(hidden)) & ranked_over
                done += 1
                if progress:
                    progress(done, total)
                if not relevant.any():
                    continue
                evidence = Evidence(code_text(code), vector, np.flatnonzero(positive),
                                    np.flatnonzero(negative & ~positive))
                for method in methods:
                    score = scores(method, corpus.sentence, corpus.context, index, evidence, seed=draw)
                    measured = _measure(score, ranked_over, relevant)
                    per_draw = results.setdefault((name, k, method), [[] for _ in range(draws)])
                    per_draw[draw].append(measured)
    return _summarise(results, tasks, methods)


def _measure(score: np.ndarray, ranked_over: np.ndarray, relevant: np.ndarray) -> tuple[float, float]:
    chosen = np.flatnonzero(ranked_over)
    order = chosen[np.argsort(-score[chosen], kind="stable")]
    hits = relevant[order].astype(float)
    return average_precision(hits, int(relevant.sum())), precision_at(hits, 10)


def _summarise(results, tasks, methods) -> list[EvalRow]:
    rows = []
    for (name, k, method), per_draw in results.items():
        filled = [d for d in per_draw if d]
        maps = [np.mean([ap for ap, _ in d]) for d in filled]
        p10s = [np.mean([p for _, p in d]) for d in filled]
        n_codes = sum(1 for t in tasks if t[0] == name and len(t[3]) > k)
        rows.append(EvalRow(name, k, method, float(np.mean(maps)), float(np.std(maps, ddof=1)) if len(maps) > 1 else 0.0,
                            float(np.mean(p10s)), float(np.std(p10s, ddof=1)) if len(p10s) > 1 else 0.0,
                            n_codes, len(filled)))
    baseline = {(r.coder, r.k): r.map for r in rows if r.method == "tfidf"}
    for row in rows:
        base = baseline.get((row.coder, row.k))
        row.vs_tfidf = row.map / base if base else None
    order = {m: i for i, m in enumerate(methods)}
    return sorted(rows, key=lambda r: (r.coder, r.k, order[r.method]))


def overall(rows: list[EvalRow]) -> dict[tuple[int, str], float]:
    """MAP per (k, method) averaged over coders (each coder counts once)."""
    out: dict[tuple[int, str], list[float]] = {}
    for row in rows:
        out.setdefault((row.k, row.method), []).append(row.map)
    return {key: float(np.mean(v)) for key, v in out.items()}

