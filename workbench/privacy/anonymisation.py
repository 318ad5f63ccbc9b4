"""The anonymisation check before transcripts reach coders: scan for residual identifiers,
review them (replace, ignore with a reason, allow-list), and release a transcript to coders once
a lead has reviewed it (or overridden the check with a recorded reason).

Detection rules are in `workbench.privacy.identifiers`; replacing text (and moving every span with it)
is `workbench.privacy.textedit`. The private key (real name → placeholder) is `workbench.privacy.private_key`
and never touches this database: after a replacement no copy of the original text remains here
— the audit trail records the placeholder and the position only, the lemma index and the named
entities of the edited passages are recomputed, and SQLite overwrites freed pages
(`secure_delete`) and folds its write-ahead log into the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor
from ..coding.assignments import transcript_by_title
from ..audit import record
from ..errors import ValidationError
from .identifiers import TYPES, Finding, Terms, context, first_names, normalise_term, scan_text
from .private_key import PrivateKey
from ..store import Study
from ..store.models import AllowedTerm, IgnoredFinding, Participant, Transcript, Turn, utcnow

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
    actor.require_lead("run the anonymisation check")
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


def allow_term(study: Study, actor: Actor, term: str, reason: str = "") -> None:
    """Never report `term` again in this study (e.g. a programme's or a public body's name)."""
    actor.require_lead("change the allow-list")
    key = normalise_term(term)
    if not key:
        raise ValidationError("give the term to allow")
    with study.transaction() as session:
        if session.scalar(select(AllowedTerm.id).where(AllowedTerm.term == key)) is None:
            session.add(AllowedTerm(term=key, reason=reason.strip(), added_by=actor.name))
        record(session, actor.name, "anonymisation.allow", reason=bool(reason.strip()))


def ignore_finding(study: Study, actor: Actor, title: str, start: int, end: int, type_: str, reason: str) -> None:
    """Record that one finding is not an identifier; a reason is required."""
    actor.require_lead("review the anonymisation check")
    if not reason.strip():
        raise ValidationError("say why this is not an identifier")
    if type_ not in TYPES:
        raise ValidationError(f"unknown type {type_!r}")
    with study.transaction() as session:
        transcript = transcript_by_title(session, title)
        if not 0 <= start < end <= len(transcript.text):
            raise ValidationError(f"span {start}–{end} is outside the transcript")
        session.add(IgnoredFinding(transcript_id=transcript.id, start=start, end=end, type=type_,
                                   reason=reason.strip(), ignored_by=actor.name))
        record(session, actor.name, "anonymisation.ignore", transcript=title, start=start, end=end, type=type_)


def release(study: Study, actor: Actor, titles: list[str], override: str | None = None) -> None:
    """Release transcripts to coders: after review, or — with `override`, the reason — without
    one. Refused while a transcript still has findings, unless overridden."""
    actor.require_lead("release transcripts")
    if not titles:
        raise ValidationError("name the transcripts to release")
    if override is not None and not override.strip():
        raise ValidationError("say why the check is overridden")
    if override is None:
        remaining = sorted({f.transcript for f in scan_transcripts(study, actor, titles)})
        if remaining:
            raise ValidationError(f"{', '.join(repr(t) for t in remaining)} still "
                                  f"{'has' if len(remaining) == 1 else 'have'} findings: replace or ignore them, "
                                  "or release with a reason")
    with study.transaction() as session:
        for title in titles:
            transcript = transcript_by_title(session, title)
            transcript.reviewed_at = utcnow()
            transcript.reviewed_by = actor.name
            transcript.review_note = override.strip() if override else "reviewed"
            record(session, actor.name, "transcript.release", transcript=title, overridden=override is not None)


@dataclass(frozen=True)
class Decision:
    """A lead's decision on one finding: `replace` (with `placeholder`), `ignore` or `allow`
    (both with a reason)."""

    finding: ScanFinding
    action: str
    placeholder: str = ""
    reason: str = ""


def apply_decisions(study: Study, actor: Actor, decisions: list[Decision], key: PrivateKey | None = None,
                    everywhere: bool = True):
    """Apply a review pass in one transaction: allow-list and ignore first, then replace (the
    same text everywhere in the study with the same placeholder when `everywhere`)."""
    from .revisions import Replacement, redact

    actor.require_lead("review the anonymisation check")
    for d in decisions:
        if d.action not in ("replace", "ignore", "allow"):
            raise ValidationError(f"unknown decision {d.action!r}")
        if d.action in ("ignore", "allow") and not d.reason.strip():
            raise ValidationError("say why a finding is ignored or allowed")
    with study.transaction():
        for d in decisions:
            if d.action == "allow":
                allow_term(study, actor, d.finding.text, d.reason)
            elif d.action == "ignore":
                ignore_finding(study, actor, d.finding.transcript, d.finding.start, d.finding.end, d.finding.type,
                               d.reason)
        replacements = [Replacement(d.finding.transcript, d.finding.start, d.finding.end, d.placeholder)
                        for d in decisions if d.action == "replace"]
        return redact(study, actor, replacements, key, everywhere) if replacements else None


def review_status(study: Study) -> list[dict]:
    with study.session() as session:
        return [{"transcript": t.title, "released": t.reviewed_at is not None, "reviewed_by": t.reviewed_by,
                 "reviewed_at": t.reviewed_at, "note": t.review_note}
                for t in session.scalars(select(Transcript).order_by(Transcript.title))]
