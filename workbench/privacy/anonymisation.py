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

from ..access import Actor, require
from ..audit import record
from ..coding.assignments import transcript_by_title
from ..errors import ValidationError
from ..store import Study
from ..store.models import AllowedTerm, IgnoredFinding, Transcript, utcnow
from .identifiers import TYPES, normalise_term
from .private_key import PrivateKey
from .redaction import Replacement, redact
from .scan import ScanFinding, scan_transcripts


def allow_term(study: Study, actor: Actor, term: str, reason: str = "") -> None:
    """Never report `term` again in this study (e.g. a programme's or a public body's name)."""
    require(actor, "review_anonymisation")
    key = normalise_term(term)
    if not key:
        raise ValidationError("give the term to allow")
    with study.transaction() as session:
        if session.scalar(select(AllowedTerm.id).where(AllowedTerm.term == key)) is None:
            session.add(AllowedTerm(term=key, reason=reason.strip(), added_by=actor.name))
        record(session, actor.name, "anonymisation.allow", reason=bool(reason.strip()))


def ignore_finding(study: Study, actor: Actor, title: str, start: int, end: int, type_: str, reason: str) -> None:
    """Record that one finding is not an identifier; a reason is required."""
    require(actor, "review_anonymisation")
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
    require(actor, "release")
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
    require(actor, "review_anonymisation")
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
