"""The anonymisation check before transcripts reach coders: scan for residual identifiers,
review them (replace, ignore with a reason, allow-list), and release a transcript to coders once
a lead has reviewed it (or overridden the check with a recorded reason).

Detection rules are in `workbench.privacy.identifiers`; replacing text (and moving every span with it)
is `workbench.privacy.textedit`. The private key (real name → placeholder) is `workbench.privacy.private_key`
and never touches this database: after a replacement no copy of the original text remains here
— the audit trail records the placeholder and the position only, the lemma index and the named
entities of the edited passages are recomputed, and SQLite overwrites freed pages
(`secure_delete`) and folds its write-ahead log into the file.

The original file name of a transcript (which may name someone: `Kirsten_Vandermolen_mum.txt`)
is kept only until release: the check reports names in it and in the title (findings of type
`file name`; replacing one renames the transcript), and release replaces whatever is left with
a neutral name, the title with the format's extension (audit entries naming it follow).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..access import Actor, require
from ..audit import record
from ..coding.assignments import transcript_by_title
from ..errors import ValidationError
from ..store import Study
from ..store.models import AllowedTerm, IgnoredFinding, Participant, Transcript, Turn, utcnow
from ..transcripts.participants import add_participant
from ..transcripts.study import relink_all
from .identifiers import FILE_NAME, TYPES, normalise_term
from .private_key import PrivateKey, load_private_key
from .redaction import RedactReport, Replacement, neutral_file_name, redact, rename
from .review import TermDecision, decisions_for
from .revisions import scrub_freed_text
from .scan import ScanFinding, scan_transcripts, spoken_name


def allow_term(study: Study, actor: Actor, term: str, reason: str = "") -> None:
    """Never report `term` again in this study (e.g. a programme's or a public body's name)."""
    require(actor, "review_anonymisation")
    key = normalise_term(term)
    if not key:
        raise ValidationError("give the term to allow")
    with study.transaction() as session:
        if session.scalar(select(AllowedTerm.id).where(AllowedTerm.term == key)) is None:
            session.add(AllowedTerm(term=key, reason=reason.strip(), added_by=actor.name))
        record(session, actor.signature, "anonymisation.allow", reason=bool(reason.strip()))


def ignore_finding(study: Study, actor: Actor, title: str, start: int, end: int, type_: str, reason: str) -> None:
    """Record that one finding is not an identifier; a reason is required."""
    require(actor, "review_anonymisation")
    if not reason.strip():
        raise ValidationError("say why this is not an identifier")
    if type_ == FILE_NAME:
        raise ValidationError("a name in a title or file name cannot be ignored: replace it (the transcript is "
                              "renamed) or allow the term")
    if type_ not in TYPES:
        raise ValidationError(f"unknown type {type_!r}")
    with study.transaction() as session:
        transcript = transcript_by_title(session, title)
        if not 0 <= start < end <= len(transcript.text):
            raise ValidationError(f"span {start}–{end} is outside the transcript")
        session.add(IgnoredFinding(transcript_id=transcript.id, start=start, end=end, type=type_,
                                   reason=reason.strip(), ignored_by=actor.name))
        record(session, actor.signature, "anonymisation.ignore", transcript=title, start=start, end=end, type=type_)


def release(study: Study, actor: Actor, titles: list[str], override: str | None = None,
            key: PrivateKey | None = None) -> None:
    """Release transcripts to coders: after review, or — with `override`, the reason — without
    one. Refused while a transcript still has findings (the check knows the real names in the
    private key: `key`, by default the file WORKBENCH_PRIVATE_KEY names), unless overridden.
    The original file name is not kept past release: it becomes the title with the format's
    extension."""
    require(actor, "release")
    if not titles:
        raise ValidationError("name the transcripts to release")
    if override is not None and not override.strip():
        raise ValidationError("say why the check is overridden")
    if override is None:
        key = key if key is not None else load_private_key()
        remaining = sorted({f.transcript for f in scan_transcripts(study, actor, titles, key)})
        if remaining:
            raise ValidationError(f"{', '.join(repr(t) for t in remaining)} still "
                                  f"{'has' if len(remaining) == 1 else 'have'} findings: replace or ignore them, "
                                  "or release with a reason")
    renamed = False
    with study.transaction() as session:
        for title in titles:
            transcript = transcript_by_title(session, title)
            transcript.reviewed_at = utcnow()
            transcript.reviewed_by = actor.name
            transcript.review_note = override.strip() if override else "reviewed"
            record(session, actor.signature, "transcript.release", transcript=title, overridden=override is not None)
            neutral = neutral_file_name(title, transcript.source_format)
            if transcript.source_filename != neutral:
                rename(session, actor, transcript, title, neutral)
                renamed = True
    if renamed:
        scrub_freed_text(study)


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
    require(actor, "review_anonymisation")
    for d in decisions:
        if d.action not in ("replace", "ignore", "allow"):
            raise ValidationError(f"unknown decision {d.action!r}")
        if d.action in ("ignore", "allow") and not d.reason.strip():
            raise ValidationError("say why a finding is ignored or allowed")
    with study.transaction():
        for d in decisions:
            if d.action == "allow":
                allow_term(study, actor, spoken_name(d.finding.text) if d.finding.type == FILE_NAME else d.finding.text,
                           d.reason)
            elif d.action == "ignore":
                ignore_finding(study, actor, d.finding.transcript, d.finding.start, d.finding.end, d.finding.type,
                               d.reason)
        replacements = [Replacement(d.finding.transcript, d.finding.start, d.finding.end, d.placeholder,
                                    d.finding.where) for d in decisions if d.action == "replace"]
        return redact(study, actor, replacements, key, everywhere) if replacements else None


def decide_terms(study: Study, actor: Actor, decisions: list[TermDecision], key: PrivateKey | None = None,
                 everywhere: bool = True) -> RedactReport | None:
    """Apply one decision per distinct term (a row of `review.group_findings`) to every
    occurrence of it, all rows in one transaction: replace each occurrence (and, with
    `everywhere`, the same text wherever else it occurs in the study), ignore each with the
    reason, or allow the term."""
    return apply_decisions(study, actor, [Decision(finding, action, placeholder, reason)
                                          for decision in decisions
                                          for finding, action, placeholder, reason in decisions_for(decision)],
                           key, everywhere)


@dataclass
class SpeakerReport:
    pseudonym: str
    added: bool  # a new participant in the key (else the label now names an existing one)
    labels_replaced: int  # speaker labels rewritten to the pseudonym
    turns_linked: int  # the participant's turns in the study after the change


def add_speaker_to_key(study: Study, actor: Actor, label: str, pseudonym: str | None = None,
                       role: str | None = None, group: str | None = None, age: int | None = None,
                       key: PrivateKey | None = None, everywhere: bool = False) -> SpeakerReport:
    """A speaker label the participant key does not know, made a participant: added to the key
    as `pseudonym` (the label itself by default; an existing pseudonym links the label to that
    participant instead), and every turn so labelled, in any transcript, linked to them. When
    the pseudonym differs from the label, each such label is replaced by it (the private key
    remembers the label's replacement) — and with `everywhere`, the label wherever else it
    occurs in the study (it was someone's real name). One transaction."""
    require(actor, "review_anonymisation")
    require(actor, "manage_participants")
    label = " ".join((label or "").split())
    pseudonym = " ".join((pseudonym or "").split()) or label
    with study.session() as session:
        turns = [(t.title, turn.start, turn.speaker) for turn, t in session.execute(
            select(Turn, Transcript).join(Transcript, Turn.transcript_id == Transcript.id).where(
                Turn.participant_id.is_(None), Turn.is_interviewer.is_(False), Turn.speaker.is_not(None)))
            if normalise_term(turn.speaker) == normalise_term(label) and t.text.startswith(turn.speaker, turn.start)]
        existing = {p.casefold(): p for p in session.scalars(select(Participant.pseudonym))}
    if not label or not turns:
        raise ValidationError("no turn is labelled with that speaker outside the participant key")
    added = pseudonym.casefold() not in existing
    pseudonym = existing.get(pseudonym.casefold(), pseudonym)  # as the key writes it
    replaced = 0
    with study.transaction() as session:
        if added:
            add_participant(study, actor, pseudonym, role, group, age)
        if normalise_term(pseudonym) != normalise_term(label):
            report = redact(study, actor, [Replacement(title, start, start + len(speaker), pseudonym)
                                           for title, start, speaker in turns], key, everywhere)
            replaced = report.replaced
        relink_all(session)
        session.flush()
        person = session.scalar(select(Participant.id).where(Participant.pseudonym == pseudonym))
        linked = session.scalar(select(func.count()).select_from(Turn).where(Turn.participant_id == person))
        record(session, actor.signature, "anonymisation.speaker_to_key", added=added, labels_replaced=replaced)
    return SpeakerReport(pseudonym, added, replaced, linked or 0)


def review_status(study: Study) -> list[dict]:
    with study.session() as session:
        return [{"transcript": t.title, "released": t.reviewed_at is not None, "reviewed_by": t.reviewed_by,
                 "reviewed_at": t.reviewed_at, "note": t.review_note}
                for t in session.scalars(select(Transcript).order_by(Transcript.title))]
