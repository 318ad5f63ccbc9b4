"""Replacing identifiers with placeholders, everywhere they occur, with everything following.

The text edit itself (spans, segments, lemma index, entities, codings) is `revisions.edit_text`;
this module chooses what to replace: the chosen spans, and with `everywhere` every other
occurrence of the same real name the check (`scan`) reports, in any transcript, with the
placeholder the private key holds for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..access import Actor, require
from ..audit import record
from ..coding.assignments import transcript_by_title
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import Transcript
from .identifiers import inside_brackets, normalise_term, word_names
from .private_key import PrivateKey
from .revisions import EditReport, audit_positions, edit_text, find_term, scrub_freed_text
from .scan import scan_transcripts
from .textedit import Edit


@dataclass(frozen=True)
class Replacement:
    transcript: str
    start: int
    end: int
    placeholder: str


@dataclass
class RedactReport:
    replaced: int = 0
    transcripts: list[EditReport] = field(default_factory=list)


def redact(study: Study, actor: Actor, replacements: list[Replacement], key: PrivateKey | None = None,
           everywhere: bool = True) -> RedactReport:
    """Replace identifiers with placeholders, in one transaction. With `everywhere`, every other
    occurrence the anonymisation check reports of a replaced text, in any transcript, gets the
    same placeholder — and the private key makes the same real name keep the same placeholder
    across sessions. The audit trail records placeholders and positions, never the replaced text."""
    require(actor, "review_anonymisation")
    key = key or PrivateKey()
    wanted: dict[str, str] = {}
    with study.session() as session:
        texts = {t.title: t.text for t in session.scalars(select(Transcript))}
    for r in replacements:
        if r.transcript not in texts:
            raise NotFound(f"no transcript titled {r.transcript!r}")
        if not 0 <= r.start < r.end <= len(texts[r.transcript]):
            raise ValidationError(f"span {r.start}–{r.end} is outside {r.transcript!r}")
        if not r.placeholder.strip():
            raise ValidationError("a replacement needs a placeholder")
        real = texts[r.transcript][r.start:r.end]
        key.remember(real, r.placeholder)
        wanted[normalise_term(real)] = key.lookup(real)
    chosen = {(r.transcript, r.start, r.end): r.placeholder.strip() for r in replacements}
    if everywhere and wanted:
        # every whole-word occurrence of a name; for a name that is also a word (Hope, Will) only
        # the occurrences the check reads as a name, which needs its tagged pass
        plain = {term: p for term, p in wanted.items() if term not in word_names()}
        for title, text in texts.items():
            for term, placeholder in plain.items():
                for start, end in find_term(text, term):
                    if not inside_brackets(text, start, end):
                        chosen.setdefault((title, start, end), placeholder)
        worded = {term: p for term, p in wanted.items() if term in word_names()}
        holding = [title for title, text in texts.items() if any(find_term(text, term) for term in worded)]
        for f in scan_transcripts(study, actor, holding, key=key) if holding else []:
            if normalise_term(f.text) in worded:
                chosen.setdefault((f.transcript, f.start, f.end), worded[normalise_term(f.text)])
    by_transcript: dict[str, list[Edit]] = {}
    for (title, start, end), placeholder in sorted(chosen.items()):
        edits = by_transcript.setdefault(title, [])
        if edits and start < edits[-1].end:
            continue  # overlapping choices: the earlier one wins
        edits.append(Edit(start, end, placeholder))
    report = RedactReport()
    with study.transaction() as session:
        for title, edits in by_transcript.items():
            transcript = transcript_by_title(session, title)
            done = edit_text(session, transcript, edits)
            report.transcripts.append(done)
            report.replaced += len(edits)
            positions = audit_positions(edits)
            record(session, actor.name, "transcript.redact", transcript=title, replacements=positions,
                   codings_moved=done.codings_moved, codings_flagged=done.codings_flagged)
    key.save()
    scrub_freed_text(study)
    return report
