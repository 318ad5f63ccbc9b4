"""Candidate passages for a code, learnt from one coder's own work, and the coder's answers.

Blindness: a coder's suggestions use only that coder's codings and decisions, never another
coder's or the consensus, and are ranked only in transcripts assigned to them. A coder may ask
only for their own suggestions; a lead may ask for any coder's, or seed with the consensus
(`seed="consensus"`: consensus codings as evidence, unblinded transcripts as candidates).

Accepting a suggestion creates the coder's coding of the sentence (or its whole turn) with
origin "suggestion" and records the acceptance; rejecting records it, so the sentence is never
suggested again for that code and teaches the ranking what the code is not. Both are one
transaction. Rankings are recomputed from stored vectors after each answer (no re-embedding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import AccessDenied, Actor, consensus_user_id, require, require_released
from ..audit import record
from ..codebook.study import CodeIndex
from ..coding.assignments import coding_user, transcript_by_title
from ..coding.codings import add_coding, delete_coding, update_coding
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import (
    Assignment,
    Code,
    Coding,
    Segment,
    SuggestionDecision,
    Transcript,
    Turn,
    User,
)
from ..store.secrets import text_hasher
from .corpus import Corpus, load_corpus
from .embeddings import embed_texts, embedder
from .model import Embedder
from .ranking import Evidence, TextIndex, query_text, scores, top

SEEDS = ("own", "consensus")
WEAK_SIMILARITY = 0.3  # below this, a sentence's nearest anchor is hardly like it
EXTENTS = ("sentence", "turn")


@dataclass
class Suggestion:
    transcript: str
    start: int
    end: int
    text: str
    score: float
    why: str
    before: str  # the rest of the turn around the sentence, for context
    after: str
    turn_start: int
    turn_end: int
    open: bool  # the coder may still code this transcript (not submitted)

    def as_json(self) -> dict:
        return {"transcript": self.transcript, "start": self.start, "end": self.end,
                "text": self.text, "score": round(self.score, 4)}


@dataclass
class Ranking:
    """What a ranking used: shown on the page as "based on …"."""

    code: str
    coder: str
    seed: str
    positives: int
    negatives: int
    rejected: int
    candidates: int
    suggestions: list[Suggestion]


def code_text(code: Code) -> str:
    return ". ".join(part.strip() for part in (code.name, code.definition, code.inclusion, code.example)
                     if part and part.strip())


def _related_ids(codes: list[Code], code: Code) -> set[int]:
    """The code, its ancestors and its descendants: never negatives for it."""
    parent = {c.id: c.parent_id for c in codes}
    related = {code.id}
    node = code.parent_id
    while node is not None:
        related.add(node)
        node = parent.get(node)
    changed = True
    while changed:
        extra = {c for c, p in parent.items() if p in related and c not in related}
        related |= extra
        changed = bool(extra)
    return related


def spans_by_transcript(rows) -> dict[int, list[tuple[int, int]]]:
    """(transcript id, start, end) rows grouped as `Corpus.covered` takes them."""
    out: dict[int, list[tuple[int, int]]] = {}
    for transcript_id, start, end in rows:
        out.setdefault(transcript_id, []).append((start, end))
    return out


def _seed_user(session: Session, actor: Actor, coder: str | None, seed: str) -> User:
    if seed not in SEEDS:
        raise ValidationError(f"unknown seed {seed!r}; expected one of {', '.join(SEEDS)}")
    if seed == "consensus":
        require(actor, "seed_with_consensus")
        user = session.scalar(select(User).where(User.id == consensus_user_id()))
        if user is None:
            raise NotFound("there is no consensus coding yet: reconcile a transcript first")
        return user
    name = coder or actor.name
    require(actor, "suggest")
    if name != actor.name:
        require(actor, "act_for_other_coders", doing="see suggestions learnt from another coder's coding")
    return coding_user(session, name)


def _candidate_transcripts(session: Session, user: User, seed: str) -> dict[int, bool]:
    """Transcript id -> whether the coder can still code it."""
    if seed == "consensus":
        return {tid: False for tid in session.scalars(select(Transcript.id).where(
            Transcript.unblinded_at.is_not(None)))}
    rows = session.execute(select(Assignment.transcript_id, Assignment.status)
                           .join(Transcript, Transcript.id == Assignment.transcript_id)
                           .where(Assignment.coder_id == user.id, Transcript.reviewed_at.is_not(None)))
    return {tid: status == "assigned" for tid, status in rows}


def counter_examples(corpus: Corpus, rows, codes: list[Code], code: Code) -> np.ndarray:
    """Units the coder coded with codes unrelated to `code`, from (code id, transcript id, start,
    end) rows of that coder's codings."""
    related = _related_ids(codes, code)
    return corpus.covered(spans_by_transcript((t, s, e) for c, t, s, e in rows if c not in related))


def gather_evidence(session: Session, corpus: Corpus, model: Embedder, user: User, code: Code,
                    codes: list[Code]) -> tuple[Evidence, np.ndarray]:
    """(evidence, rejected units) from `user`'s own codings and answers only."""
    rows = session.execute(select(Coding.code_id, Coding.transcript_id, Coding.start, Coding.end)
                           .where(Coding.coder_id == user.id)).all()
    positive = corpus.covered(spans_by_transcript((t, s, e) for c, t, s, e in rows if c == code.id))
    negative = counter_examples(corpus, rows, codes, code)
    rejected = np.zeros(len(corpus), dtype=bool)
    answers = session.execute(select(SuggestionDecision.transcript_id, SuggestionDecision.start,
                                     SuggestionDecision.text_hash, SuggestionDecision.decision)
                              .where(SuggestionDecision.coder_id == user.id,
                                     SuggestionDecision.code_id == code.id)).all()
    for i, decision in _answered_units(corpus, answers):
        if decision == "rejected":
            rejected[i] = True
        else:
            positive[i] = True
    negative = (negative | rejected) & ~positive
    vector = embed_texts(session, model, [code_text(code)])[0]
    evidence = Evidence(code_text(code), vector, np.flatnonzero(positive), np.flatnonzero(negative))
    return evidence, rejected


def _answered_units(corpus: Corpus, answers) -> list[tuple[int, str]]:
    """(unit, decision) for each answer: the sentence at the answer's offsets with the same
    text; if an edit moved it, the one sentence of the transcript with that text (a common
    sentence such as "Yes." that now occurs more than once is left alone)."""
    if not answers:
        return []
    at = {(u.transcript_id, u.start, u.text_hash): i for i, u in enumerate(corpus.units)}
    by_text: dict[tuple[int, str], list[int]] = {}
    for i, u in enumerate(corpus.units):
        by_text.setdefault((u.transcript_id, u.text_hash), []).append(i)
    found = []
    for transcript_id, start, hash_, decision in answers:
        unit = at.get((transcript_id, start, hash_))
        if unit is None:
            moved = by_text.get((transcript_id, hash_), [])
            unit = moved[0] if len(moved) == 1 else None
        if unit is not None:
            found.append((unit, decision))
    return found


def suggest(study: Study, actor: Actor, code: str, coder: str | None = None, top_k: int | None = 20,
            seed: str = "own", only_open: bool = False, model: Embedder | None = None,
            progress=None, transcript: str | None = None) -> Ranking:
    """The best passages for `code` that the coder has not coded with it nor rejected
    (in one `transcript` if given). `progress(done, total)` reports embeddings computed first."""
    model = model or embedder()
    with study.transaction() as session:  # check first; store the code's own texts' vectors if new
        _seed_user(session, actor, coder, seed)
        chosen = CodeIndex(session, actor).resolve(code)
        if chosen.retired:
            raise ValidationError(f"code {code!r} is retired")
        embed_texts(session, model, [code_text(chosen)] + [text for _, text in anchor_texts(chosen)])
    corpus = load_corpus(study, model, progress)
    with study.session() as session:  # read-only from here: the vectors above are stored
        user = _seed_user(session, actor, coder, seed)
        index = CodeIndex(session, actor)
        chosen = index.resolve(code)
        evidence, rejected = gather_evidence(session, corpus, model, user, chosen, index.codes)
        transcripts = _candidate_transcripts(session, user, seed)
        candidates = np.isin(corpus.transcript_of, list(transcripts) or [-1])
        if transcript is not None:
            candidates &= corpus.transcript_of == transcript_by_title(session, transcript).id
        if only_open:
            candidates &= np.isin(corpus.transcript_of, [t for t, ok in transcripts.items() if ok] or [-1])
        coded = np.zeros(len(corpus), dtype=bool)
        coded[evidence.positives] = True
        candidates &= ~coded & ~rejected
        text_index = corpus.text_index
        ranked = scores("workbench", corpus.sentence, corpus.context, text_index, evidence)
        best = top(ranked, candidates, top_k)
        whose = "your coding" if user.id == actor.user_id else (
            "the consensus" if seed == "consensus" else f"{user.name}'s coding")
        explain = Explainer(session, model, corpus, chosen, evidence, text_index, whose)
        found = [_suggestion(corpus, i, float(ranked[i]), explain(i), transcripts) for i in best]
        return Ranking(index.path(chosen), user.name, seed, len(evidence.positives),
                       len(evidence.negatives), int(rejected.sum()), int(candidates.sum()), found)


def _suggestion(corpus: Corpus, i: int, score: float, why: str, transcripts: dict[int, bool]) -> Suggestion:
    unit = corpus.units[i]
    text = corpus.texts[unit.transcript_id]
    return Suggestion(unit.transcript, unit.start, unit.end, text[unit.start:unit.end], score, why,
                      text[unit.turn[0]:unit.start].strip(), text[unit.end:unit.turn[1]].strip(),
                      unit.turn[0], unit.turn[1], transcripts.get(unit.transcript_id, False))


def anchor_texts(code: Code) -> list[tuple[str, str]]:
    """The parts of a code's description an explanation can point to."""
    return [(label, text.strip()) for label, text in (
        ("the definition", f"{code.name}. {code.definition}"), ("the inclusion criteria", code.inclusion),
        ("the example", code.example)) if text and text.strip()]


class Explainer:
    """Why a unit was suggested: the part of the code's description or the coder's own coded
    passage its sentence is closest to, and the words it shares with them."""

    def __init__(self, session: Session, model: Embedder, corpus: Corpus, code: Code,
                 evidence: Evidence, index: TextIndex, whose: str = "your coding"):
        labelled = anchor_texts(code)
        self.labels = [label for label, _ in labelled]
        vectors = [embed_texts(session, model, [text for _, text in labelled])] if labelled else []
        for i in evidence.positives[:200]:
            self.labels.append(f"{whose} in {corpus.units[i].transcript}: ‘{_short(corpus.text(i))}’")
            vectors.append(corpus.sentence[i][None, :])
        self.anchors = np.vstack(vectors) if vectors else np.zeros((0, corpus.sentence.shape[1]))
        self.corpus, self.index = corpus, index
        self.query = index.query_vector(query_text(evidence, corpus.sentence_texts))

    def __call__(self, i: int) -> str:
        parts = []
        if len(self.anchors):
            similarity = self.anchors @ self.corpus.sentence[i]
            best = int(np.argmax(similarity))
            closeness = "closest to" if similarity[best] >= WEAK_SIMILARITY else "only loosely like"
            parts.append(f"{closeness} {self.labels[best]} (similarity {similarity[best]:.2f})")
        words = self.index.shared_terms(self.query, i)
        if words:
            parts.append("shares " + ", ".join(f"“{w}”" for w in words))
        return "; ".join(parts) or "ranked by the code's text"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


# --- answers ---------------------------------------------------------------------------------

def _sentence(session: Session, transcript: Transcript, start: int, end: int) -> tuple[str, str]:

    if not 0 <= start < end <= len(transcript.text):
        raise ValidationError(f"span {start}–{end} is outside {transcript.title!r}")
    sentence = session.scalar(select(Segment.id).join(Turn, Turn.id == Segment.turn_id).where(
        Segment.transcript_id == transcript.id, Segment.start == start, Segment.end == end,
        Turn.is_interviewer.is_(False)))
    if sentence is None:
        raise ValidationError(f"{start}–{end} is not a participant's sentence in {transcript.title!r}: "
                              "answer with the start and end a suggestion gave")
    return transcript.text[start:end], text_hasher(session)(transcript.text[start:end])


def _answer(session: Session, actor: Actor, code: str, transcript: Transcript, start: int, end: int,
            decision: str) -> Code:
    if actor.user_id is None:
        raise AccessDenied("suggestions belong to a coder: act as one (--as USER)")
    chosen = CodeIndex(session, actor).resolve(code)
    _text, hash_ = _sentence(session, transcript, start, end)
    existing = session.scalar(select(SuggestionDecision).where(
        SuggestionDecision.coder_id == actor.user_id, SuggestionDecision.code_id == chosen.id,
        SuggestionDecision.transcript_id == transcript.id, SuggestionDecision.start == start,
        SuggestionDecision.text_hash == hash_))
    if existing is None:
        session.add(SuggestionDecision(coder_id=actor.user_id, code_id=chosen.id, transcript_id=transcript.id,
                                       text_hash=hash_, start=start, end=end, decision=decision))
    else:
        existing.decision, existing.start, existing.end = decision, start, end
    action = {"accepted": "suggestion.accept", "rejected": "suggestion.reject"}[decision]
    record(session, actor.signature, action, transcript=transcript.title, code=chosen.guid, start=start, end=end)
    return chosen


def accept(study: Study, actor: Actor, code: str, transcript: str, start: int, end: int,
           extent: str = "sentence", turn: tuple[int, int] | None = None) -> int:
    """Code the suggested sentence (or, with `extent="turn"`, its whole turn `turn`) as the
    actor, origin "suggestion". Returns the coding's id."""
    if extent not in EXTENTS:
        raise ValidationError(f"unknown extent {extent!r}; expected one of {', '.join(EXTENTS)}")
    with study.transaction() as session:
        target = transcript_by_title(session, transcript)
        chosen = _answer(session, actor, code, target, start, end, "accepted")
        span = turn if extent == "turn" and turn else (start, end)
        if not (span[0] <= start and end <= span[1]):
            raise ValidationError("the turn must contain the suggested sentence")
        overlapping = list(session.scalars(select(Coding).where(
            Coding.coder_id == actor.user_id, Coding.code_id == chosen.id, Coding.transcript_id == target.id,
            Coding.start < span[1], Coding.end > span[0]).order_by(Coding.start)))
        if not overlapping:
            return add_coding(study, actor, transcript, code, span[0], span[1], origin="suggestion")
        # One span per passage: the coder's overlapping spans of this code are joined with it.
        joined = (min(span[0], overlapping[0].start), max([span[1]] + [c.end for c in overlapping]))
        for extra in overlapping[1:]:
            delete_coding(study, actor, extra.id)
        update_coding(study, actor, overlapping[0].id, start=joined[0], end=joined[1])
        return overlapping[0].id


def reject(study: Study, actor: Actor, code: str, transcript: str, start: int, end: int) -> None:
    """Never suggest this sentence for this code to this coder again."""
    with study.transaction() as session:
        target = transcript_by_title(session, transcript)
        require_released(actor, target)
        _answer(session, actor, code, target, start, end, "rejected")


def answers(study: Study, actor: Actor, code: str | None = None) -> list[dict]:
    """The actor's own remembered answers (for undoing a rejection)."""
    with study.session() as session:
        index = CodeIndex(session, actor)
        query = (select(SuggestionDecision, Transcript.title).join(Transcript)
                 .where(SuggestionDecision.coder_id == actor.user_id).order_by(SuggestionDecision.id))
        if code:
            query = query.where(SuggestionDecision.code_id == index.resolve(code).id)
        codes = {c.id: c for c in index.codes}
        return [{"transcript": title, "start": d.start, "end": d.end, "decision": d.decision,
                 "code": index.path(codes[d.code_id]) if d.code_id in codes else "",
                 "text": session.get(Transcript, d.transcript_id).text[d.start:d.end]}
                for d, title in session.execute(query)]


def forget(study: Study, actor: Actor, code: str, transcript: str, start: int, end: int) -> None:
    """Undo a rejection: the sentence may be suggested again."""
    with study.transaction() as session:
        target = transcript_by_title(session, transcript)
        chosen = CodeIndex(session, actor).resolve(code)
        _text, hash_ = _sentence(session, target, start, end)
        found = session.scalar(select(SuggestionDecision).where(
            SuggestionDecision.coder_id == actor.user_id, SuggestionDecision.code_id == chosen.id,
            SuggestionDecision.transcript_id == target.id, SuggestionDecision.start == start,
            SuggestionDecision.text_hash == hash_, SuggestionDecision.decision == "rejected"))
        if found is None:
            raise NotFound("no rejection of this sentence for this code")
        session.delete(found)
        record(session, actor.signature, "suggestion.forget", transcript=transcript, code=chosen.guid,
               start=start, end=end)


def turn_of(study: Study, transcript: str, start: int, end: int) -> tuple[int, int]:
    """The talk of the turn holding `[start, end)` (its first to last sentence)."""
    with study.session() as session:
        target = transcript_by_title(session, transcript)
        turn_id = session.scalar(select(Segment.turn_id).where(
            Segment.transcript_id == target.id, Segment.start <= start, Segment.end > start))
        if turn_id is None:
            raise ValidationError(f"no sentence starts at or covers {start} in {transcript!r}")
        first, last = session.execute(select(func.min(Segment.start), func.max(Segment.end))
                                      .where(Segment.turn_id == turn_id)).one()
        if end > last:
            raise ValidationError("the passage runs past its turn")
        return first, last
