"""The anonymisation check: residual identifiers in a study's talk, found with the study's terms.

Detection rules are pure (`identifiers`); this module brings the study's terms (pseudonyms,
speaker labels, the allow-list, the private key's real names), runs one batched NLP pass, and
leaves out the findings a lead ignored. Names found confidently anywhere become known everywhere,
and so does each word of a multi-word name that is a name on its own (`identifiers.name_parts`):
after `Kirsten Baker` is replaced, a bare `Kirsten` is still reported. A transcript's title and
its original file name are checked too (findings of type `file name`, `where` "title"/"file").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, require
from ..coding.assignments import transcript_by_title
from ..store import Study
from ..store.models import AllowedTerm, IgnoredFinding, Participant, Segment, Transcript, Turn
from .identifiers import (
    Finding,
    Terms,
    common_word,
    context,
    is_given_name,
    name_parts,
    normalise_term,
    scan_text,
    scan_title,
    title_words,
)
from .private_key import PrivateKey
from .review import TYPE_PLACEHOLDERS, TermGroup, group_findings, suggest_for

# Where a name was found with at least this confidence, its other occurrences are findings too.
PROPAGATE = 0.7


# The placeholder of each type when nothing around a finding says more (`review.suggest`).
PLACEHOLDERS = TYPE_PLACEHOLDERS


@dataclass(frozen=True)
class ScanFinding:
    transcript: str
    start: int
    end: int
    text: str
    type: str
    confidence: float
    rule: str
    context: str
    # where start/end point: the transcript's "text", its "title", or its original "file" name
    where: str = "text"


def study_terms(session: Session, key: PrivateKey | None = None) -> Terms:
    """Pseudonyms and speaker labels (never findings), the allow-list, and the private key's
    real names (each, and every word of a multi-word name that is a name on its own, is a name
    wherever it occurs)."""
    pseudonyms = {normalise_term(p) for p in session.scalars(select(Participant.pseudonym))}
    # interviewers' labels and speakers linked to the key are pseudonyms; a speaker the key does
    # not know may be someone's real name, so it is a name to look for
    linked = {normalise_term(s) for s in session.scalars(select(Turn.speaker).where(
        (Turn.participant_id.is_not(None)) | Turn.is_interviewer.is_(True)).distinct()) if s}
    unlinked = {normalise_term(s) for s in session.scalars(select(Turn.speaker).where(
        Turn.participant_id.is_(None), Turn.is_interviewer.is_(False)).distinct()) if s} - pseudonyms - linked
    pseudonyms |= linked
    allowed = set(session.scalars(select(AllowedTerm.term)))
    known: dict[str, str] = {name: "name" for name in unlinked if name not in allowed}
    terms = Terms(pseudonyms, allowed, known, vocabulary())
    for real in (key.names() if key else []):
        known[normalise_term(real)] = "name"
        add_name_parts(terms, real, as_written=False)
    return terms


def add_name_parts(terms: Terms, name: str, as_written: bool = True) -> None:
    """Make each word of a multi-word name that is a name on its own a known name (not the
    study's pseudonyms or allow-listed terms)."""
    for part in name_parts(name, terms.vocabulary, as_written):
        if part not in terms.pseudonyms and part not in terms.allowed:
            terms.known.setdefault(part, "name")


def vocabulary() -> frozenset[str]:
    """Lower-case English words from the trained pipeline's lemma tables (empty without one):
    what tells `Baker` or `Interview` (words) from `Kirsten` or `Vandermolen`."""
    from ..nlp import load_pipeline

    return _vocabulary(load_pipeline())


@lru_cache(maxsize=2)
def _vocabulary(pipeline) -> frozenset[str]:
    nlp = pipeline.nlp
    if not pipeline.trained or "lemmatizer" not in nlp.pipe_names:
        return frozenset()
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    words: set[str] = set()
    for table in ("lemma_index", "lemma_exc"):
        if lookups is not None and table in lookups.tables:
            for entry in lookups.get_table(table).values():
                words.update(entry)  # word lists (index), or inflected form -> lemmas (exceptions)
    return frozenset(w for w in words if isinstance(w, str) and "_" not in w)


def _talk(session: Session, transcript: Transcript) -> list[tuple[int, int]]:
    """The transcript's talk as the import analysed it: one piece per line of talk, from its
    first sentence to its last (so a repeated speaker label on a turn's later lines is never
    scanned as a name, and the check sees what the import's own check saw)."""
    rows = session.execute(select(Segment.turn_id, Segment.start, Segment.end)
                           .where(Segment.transcript_id == transcript.id).order_by(Segment.index)).all()
    pieces: list[list[int]] = []
    last_turn = None
    for turn_id, start, end in rows:
        if pieces and turn_id == last_turn and "\n" not in transcript.text[pieces[-1][1]:start]:
            pieces[-1][1] = end
        else:
            pieces.append([start, end])
        last_turn = turn_id
    return [(a, b) for a, b in pieces]


def _analyse(pieces: list[str]):
    from ..nlp import load_pipeline, tagged

    pipeline = load_pipeline()
    return [tagged(doc) for doc in pipeline.nlp.pipe(pieces, batch_size=256)] if pipeline.trained else None


def scan_transcripts(study: Study, actor: Actor, titles: list[str] | None = None,
                     key: PrivateKey | None = None) -> list[ScanFinding]:
    """Residual identifiers in the named transcripts (default: all), best-supported first within
    each transcript's text order. Ignored findings are left out."""
    require(actor, "review_anonymisation")
    with study.session() as session:
        if titles:
            transcripts = [transcript_by_title(session, t) for t in titles]
        else:
            transcripts = list(session.scalars(select(Transcript).order_by(Transcript.title)))
        talks = [_talk(session, transcript) for transcript in transcripts]
        docs = _analyse([t.text[a:b] for t, talk in zip(transcripts, talks) for a, b in talk])  # one batched pass
        prepared, k = [], 0
        for transcript, talk in zip(transcripts, talks):
            prepared.append((transcript, talk, docs[k:k + len(talk)] if docs is not None else None))
            k += len(talk)
        return scan_prepared(session, prepared, key)


def scan_prepared(session: Session, prepared: list[tuple], key: PrivateKey | None = None) -> list[ScanFinding]:
    """The check over transcripts whose talk is already analysed: `(transcript, talk spans,
    tagged docs or None)` each. The import calls this with its own NLP pass, so importing
    analyses the text once for segments, lemmas, entities and the check."""
    terms = study_terms(session, key)
    # first pass: names found with confidence anywhere in the study become known terms, and
    # so do the words of a multi-word name that are names on their own
    for transcript, talk, docs in prepared:
        for f in scan_text(transcript.text, talk, terms, docs):
            # a name-list word written as a name (even "Faith" mid-sentence) is known too
            if f.type in ("name", "place", "school", "organisation") and (
                    f.confidence >= PROPAGATE or (f.rule == "name list" and f.confidence >= 0.6)):
                terms.known.setdefault(normalise_term(f.text), f.type)
                if f.type == "name" and f.confidence >= PROPAGATE:
                    add_name_parts(terms, f.text)
    # a name in a title or file name (often the interviewee's or their child's) is looked for
    # in the talk too: each of its words that is no English word
    for transcript, *_ in prepared:
        for f in _in_names(transcript, terms):
            for _, _, word in title_words(f.text):
                folded = word.casefold()
                if terms.vocabulary and folded not in terms.known and (
                        is_given_name(folded) or not common_word(folded, terms.vocabulary)):
                    terms.known[folded] = "name"
    ignored = {(i.transcript_id, i.start, i.end) for i in session.scalars(select(IgnoredFinding))}
    out = []
    for transcript, talk, docs in prepared:
        for f in _unlinked_labels(session, transcript, terms) + scan_text(transcript.text, talk, terms, docs):
            if (transcript.id, f.start, f.end) in ignored:
                continue
            out.append(ScanFinding(transcript.title, f.start, f.end, f.text, f.type, round(f.confidence, 2),
                                   f.rule, context(transcript.text, f.start, f.end)))
        out += _in_names(transcript, terms)
    return out


def _in_names(transcript: Transcript, terms: Terms) -> list[ScanFinding]:
    """Names in the transcript's title and — while it is kept, until release — in its original
    file name when that says more than the title."""
    out = []
    places = [("title", transcript.title)]
    if Path(transcript.source_filename).stem != transcript.title:
        places.append(("file", transcript.source_filename))
    for where, name in places:
        for f in scan_title(name, terms, "title" if where == "title" else "original file name"):
            shown = f"{'title' if where == 'title' else 'file name'}: {name[:f.start]}⟦{f.text}⟧{name[f.end:]}"
            out.append(ScanFinding(transcript.title, f.start, f.end, f.text, f.type, round(f.confidence, 2), f.rule,
                                   shown, where))
    return out


def _unlinked_labels(session: Session, transcript: Transcript, terms: Terms) -> list[Finding]:
    """Speaker labels the participant key does not know: perhaps a participant's real name."""
    out = []
    for turn in session.scalars(select(Turn).where(Turn.transcript_id == transcript.id,
                                                   Turn.participant_id.is_(None), Turn.is_interviewer.is_(False))):
        label = turn.speaker or ""
        if normalise_term(label) in terms.known and transcript.text.startswith(label, turn.start):
            out.append(Finding(turn.start, turn.start + len(label), label, "name", 0.7,
                               "speaker not in the participant key"))
    return out


def spoken_name(text: str) -> str:
    """A name as found in a title or file name, as it would be written in talk:
    `Kirsten_Vandermolen` → `Kirsten Vandermolen` (how the private key keeps it)."""
    return " ".join(w for _, _, w in title_words(text)) or text


def suggest_placeholder(finding: ScanFinding | Finding, key: PrivateKey | None = None) -> str:
    """The replacement the key already gives this text, else a bracketed role read from the
    words around it and its type (`[son]`, `[key worker]`, `[town]`, `[school]`, `[date]`;
    `[name]` only for a name with nothing around it): see `review.suggest`."""
    return suggest_for(finding, key).placeholder


def review_terms(study: Study, actor: Actor, titles: list[str] | None = None,
                 key: PrivateKey | None = None) -> list[TermGroup]:
    """The check's findings in the named transcripts as one row per distinct term (with every
    occurrence and a suggested placeholder): what the Anonymisation page reviews."""
    return group_findings(scan_transcripts(study, actor, titles, key), key)
