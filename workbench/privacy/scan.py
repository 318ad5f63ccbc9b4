"""The anonymisation check: residual identifiers in a study's talk, found with the study's terms.

Detection rules are pure (`identifiers`); this module brings the study's terms (pseudonyms,
speaker labels, the allow-list, the private key's real names), runs one batched NLP pass, and
leaves out the findings a lead ignored. Names found confidently anywhere become known everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, require
from ..coding.assignments import transcript_by_title
from ..store import Study
from ..store.models import AllowedTerm, IgnoredFinding, Participant, Transcript, Turn
from .identifiers import Finding, Terms, context, first_names, normalise_term, scan_text
from .private_key import PrivateKey

# Where a name was found with at least this confidence, its other occurrences are findings too.
PROPAGATE = 0.7


PLACEHOLDERS = {"name": "[name]", "place": "[place]", "school": "[school]", "organisation": "[organisation]",
                "phone": "[phone number]", "email": "[e-mail address]", "postcode": "[postcode]",
                "url": "[website]", "date": "[date]"}


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


def study_terms(session: Session, key: PrivateKey | None = None) -> Terms:
    """Pseudonyms and speaker labels (never findings), the allow-list, and the private key's
    real names (each, and a multi-word name's first word, is a name wherever it occurs)."""
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
    for real in (key.names() if key else []):
        known[normalise_term(real)] = "name"
        first = real.split()[0]
        if len(real.split()) > 1 and first.casefold() in first_names():
            known.setdefault(normalise_term(first), "name")
    return Terms(pseudonyms, allowed, known)


def _talk(session: Session, transcript: Transcript) -> list[tuple[int, int]]:
    return [(t.text_start, t.end) for t in session.scalars(
        select(Turn).where(Turn.transcript_id == transcript.id).order_by(Turn.index)) if t.end > t.text_start]


def _analyse(pieces: list[str]):
    from ..nlp import load_pipeline

    pipeline = load_pipeline()
    return list(pipeline.nlp.pipe(pieces, batch_size=256)) if pipeline.trained else None


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
        terms = study_terms(session, key)
        talks = [_talk(session, transcript) for transcript in transcripts]
        docs = _analyse([t.text[a:b] for t, talk in zip(transcripts, talks) for a, b in talk])  # one batched pass
        prepared, k = [], 0
        for transcript, talk in zip(transcripts, talks):
            prepared.append((transcript, talk, docs[k:k + len(talk)] if docs is not None else None))
            k += len(talk)
        # first pass: names found with confidence anywhere in the study become known terms
        for transcript, talk, docs in prepared:
            for f in scan_text(transcript.text, talk, terms, docs):
                # a name-list word written as a name (even "Faith" mid-sentence) is known too
                if f.type in ("name", "place", "school", "organisation") and (
                        f.confidence >= PROPAGATE or (f.rule == "name list" and f.confidence >= 0.6)):
                    terms.known.setdefault(normalise_term(f.text), f.type)
        ignored = {(i.transcript_id, i.start, i.end) for i in session.scalars(select(IgnoredFinding))}
        out = []
        for transcript, talk, docs in prepared:
            for f in _unlinked_labels(session, transcript, terms) + scan_text(transcript.text, talk, terms, docs):
                if (transcript.id, f.start, f.end) in ignored:
                    continue
                out.append(ScanFinding(transcript.title, f.start, f.end, f.text, f.type, round(f.confidence, 2),
                                       f.rule, context(transcript.text, f.start, f.end)))
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


def suggest_placeholder(finding: ScanFinding | Finding, key: PrivateKey | None = None) -> str:
    """The replacement the key already gives this text, else a bracketed role for its type."""
    known = key.lookup(finding.text) if key else None
    return known or PLACEHOLDERS.get(finding.type, "[redacted]")
