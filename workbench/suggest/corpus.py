"""The study's participant sentences as ranking units, with their context and vectors.

A unit is one sentence segment of a participant's talk (interviewers' turns are never
suggested, as they are never units of agreement). Each unit has three texts, each embedded and
stored by its hash: the sentence, its window (the sentence with its neighbours in the same
turn) and its whole turn. The unit's context vector mixes the three (sentence + ½ window + ½
turn, renormalised): codings usually span two or three sentences, and a sentence such as "it
was the waiting" only means something next to its neighbours.

`load_corpus` builds everything once per study state and model (cached in the process); a
ranking then needs only matrix arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..agreement.units import Segment as AgreementSegment
from ..agreement.units import TranscriptCoding, decide
from ..store import Study
from ..store.models import Embedding, Segment, Transcript, Turn
from ..store.secrets import text_hasher
from .embeddings import embedder, load_vectors, store_missing, stored_hashes
from .model import Embedder
from .ranking import TextIndex

CONTEXT_WEIGHTS = (1.0, 0.5, 0.5)  # sentence, window, turn


@dataclass(frozen=True)
class Unit:
    transcript_id: int
    transcript: str
    start: int
    end: int
    turn_id: int
    text_hash: str
    window: tuple[int, int]
    turn: tuple[int, int]


@dataclass
class TranscriptUnits:
    """One transcript's units, in text order, for the agreement module's coverage rule."""

    transcript_id: int
    title: str
    length: int
    first: int  # index of its first unit in the corpus
    segments: list[AgreementSegment]


@dataclass
class Corpus:
    units: list[Unit]
    texts: dict[int, str]  # transcript id -> canonical text
    transcripts: list[TranscriptUnits]
    sentence: np.ndarray | None = None  # unit-length vectors, one row per unit
    context: np.ndarray | None = None
    model_key: str = ""
    _by_transcript: dict[int, TranscriptUnits] = field(default_factory=dict)

    def __post_init__(self):
        self._by_transcript = {t.transcript_id: t for t in self.transcripts}

    def __len__(self) -> int:
        return len(self.units)

    def text(self, i: int) -> str:
        unit = self.units[i]
        return self.texts[unit.transcript_id][unit.start:unit.end]

    def span_text(self, unit: Unit, span: tuple[int, int]) -> str:
        return self.texts[unit.transcript_id][span[0]:span[1]]

    @cached_property
    def sentence_texts(self) -> list[str]:
        return [self.text(i) for i in range(len(self.units))]

    def all_texts(self) -> list[str]:
        """Every text to embed: sentences, windows and turns (duplicates included)."""
        out = []
        for unit in self.units:
            out += [self.texts[unit.transcript_id][unit.start:unit.end],
                    self.span_text(unit, unit.window), self.span_text(unit, unit.turn)]
        return out

    @cached_property
    def text_index(self) -> TextIndex:
        """TF-IDF over the sentences, fitted once per corpus."""
        return TextIndex(self.sentence_texts)

    @cached_property
    def transcript_of(self) -> np.ndarray:
        return np.array([u.transcript_id for u in self.units], dtype=np.int64)

    def covered(self, spans: dict[int, list[tuple[int, int]]], threshold: float = 0.5) -> np.ndarray:
        """Units at least `threshold` covered by the union of `spans` (transcript id -> spans):
        the agreement module's rule for "this coder coded this sentence"."""
        out = np.zeros(len(self.units), dtype=bool)
        for transcript_id, chosen in spans.items():
            units = self._by_transcript.get(transcript_id)
            if units is None or not chosen or not units.segments:
                continue
            coding = TranscriptCoding(units.title, units.length, units.segments, {"c": {"x": chosen}})
            decisions = decide(coding, ["c"], ["x"], unit="sentence", threshold=threshold)
            out[units.first:units.first + len(units.segments)] = decisions.coded["c"][:, 0]
        return out


def read_units(session: Session) -> Corpus:
    """Every participant sentence of the study, in transcript and text order."""
    texts = dict(session.execute(select(Transcript.id, Transcript.text)).all())
    titles = dict(session.execute(select(Transcript.id, Transcript.title)).all())
    rows = session.execute(
        select(Segment.transcript_id, Segment.turn_id, Segment.start, Segment.end, Segment.text_hash)
        .join(Turn, Turn.id == Segment.turn_id)
        .where(Turn.is_interviewer.is_(False))
        .order_by(Segment.transcript_id, Segment.index)).all()
    by_turn: dict[int, list[int]] = {}
    position_in_turn = []
    for i, row in enumerate(rows):
        members = by_turn.setdefault(row.turn_id, [])
        position_in_turn.append(len(members))
        members.append(i)
    units, transcripts = [], []
    for i, row in enumerate(rows):
        members = by_turn[row.turn_id]
        position = position_in_turn[i]
        before = rows[members[max(position - 1, 0)]]
        after = rows[members[min(position + 1, len(members) - 1)]]
        units.append(Unit(row.transcript_id, titles[row.transcript_id], row.start, row.end, row.turn_id,
                          row.text_hash, (before.start, after.end),
                          (rows[members[0]].start, rows[members[-1]].end)))
        if not transcripts or transcripts[-1].transcript_id != row.transcript_id:
            transcripts.append(TranscriptUnits(row.transcript_id, titles[row.transcript_id],
                                               len(texts[row.transcript_id]), i, []))
        transcripts[-1].segments.append(AgreementSegment(row.start, row.end, row.turn_id))
    return Corpus(units, texts, transcripts)


def missing_count(study: Study, model: Embedder | None = None) -> tuple[int, int]:
    """(texts without a stored vector, all distinct texts) for the study's units."""
    model = model or embedder()
    with study.session() as session:
        digest = text_hasher(session)
        hashes = {digest(t) for t in read_units(session).all_texts()}
        return len(hashes - stored_hashes(session, model.key, hashes)), len(hashes)


def embed_study(study: Study, model: Embedder | None = None,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Compute and store every missing vector of the study's units. Returns how many."""
    model = model or embedder()
    with study.transaction() as session:
        return store_missing(session, model, read_units(session).all_texts(), progress)


def with_vectors(session: Session, corpus: Corpus, model: Embedder) -> Corpus:
    """Attach sentence and context vectors (all must be stored: see `embed_study`)."""
    units = corpus.units
    digest = text_hasher(session)
    sentence = load_vectors(session, model.key, [u.text_hash for u in units])
    window = load_vectors(session, model.key, [digest(corpus.span_text(u, u.window)) for u in units])
    turn = load_vectors(session, model.key, [digest(corpus.span_text(u, u.turn)) for u in units])
    a, b, c = CONTEXT_WEIGHTS
    context = a * sentence + b * window + c * turn
    context /= np.linalg.norm(context, axis=1, keepdims=True)
    corpus.sentence, corpus.context, corpus.model_key = sentence, context.astype(np.float32), model.key
    return corpus


def study_state(session: Session) -> tuple:
    """Changes whenever a transcript is imported, edited or removed (the corpus cache key)."""
    return tuple(session.execute(select(
        func.count(Transcript.id), func.coalesce(func.sum(Transcript.revision), 0),
        func.coalesce(func.max(Transcript.id), 0), func.count(Segment.id.distinct()))
        .select_from(Transcript).outerjoin(Segment, Segment.transcript_id == Transcript.id)).one())


_CACHE: dict[tuple, Corpus] = {}


def load_corpus(study: Study, model: Embedder | None = None,
                progress: Callable[[int, int], None] | None = None) -> Corpus:
    """The study's units with vectors, cached per study state and model. Missing vectors are
    computed and stored first (`progress(done, total)` reports on them)."""
    model = model or embedder()
    with study.session() as session:
        key = (str(study.url), model.key, study_state(session))
    if key not in _CACHE:
        embed_study(study, model, progress)
        with study.session() as session:
            corpus = with_vectors(session, read_units(session), model)
        for old in [k for k in _CACHE if k[:2] == key[:2]]:
            del _CACHE[old]
        _CACHE[key] = corpus
    return _CACHE[key]


def forget_unused_embeddings(session: Session) -> int:
    """Delete every stored vector whose text is no longer any unit's sentence, window or turn:
    after an edit, no vector or hash of the old words remains. (Vectors of codes' texts go too;
    they are a few, and computed again when next needed.) Returns how many were deleted.
    Every operation that edits or deletes transcript text ends with it, once, in its transaction."""
    session.flush()
    digest = text_hasher(session)
    needed = {digest(text) for text in read_units(session).all_texts()}
    stored = set(session.scalars(select(Embedding.text_hash).distinct()))
    unused = sorted(stored - needed)
    for first in range(0, len(unused), 500):
        session.execute(delete(Embedding).where(Embedding.text_hash.in_(unused[first:first + 500])))
    return len(unused)
