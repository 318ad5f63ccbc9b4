"""Changing a transcript's text after import, with everything that points into it following:
replacing residual identifiers, correcting a transcription error, withdrawing a participant.

`edit_text` is the one machinery: it applies edits to the canonical text and carries turns,
sentence segments, the lemma index, named entities, codings and ignored findings along (see
`workbench.privacy.textedit` for how a position inside an edit moves). The edited segments are analysed
again (lemmas and entities), so no word of the old text survives in the index. A coding whose
boundary an edit cut through is flagged for review. Reconcile decisions on edited codings show
as flagged, because their codings' spans changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from .. import nlp
from ..access import Actor, require
from ..audit import record
from ..coding.assignments import transcript_by_title
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import (
    Coding,
    Entity,
    IgnoredFinding,
    Memo,
    Participant,
    ParticipantLink,
    Segment,
    SuggestionDecision,
    Token,
    Transcript,
    Turn,
    utcnow,
)
from ..store.secrets import text_hasher
from ..suggest.corpus import forget_unused_embeddings
from .identifiers import term_pattern
from .textedit import Edit, EditMap

CUT_FLAG = "the transcript's text was edited across this coding's boundary: check its span"


@dataclass
class EditReport:
    transcript: str
    edits: int
    codings_moved: int = 0
    codings_flagged: int = 0
    codings_merged: int = 0  # made identical to another coding, or left with no text
    segments_reanalysed: int = 0


def edit_text(session: Session, transcript: Transcript, edits: list[Edit]) -> EditReport:
    """Apply `edits` to `transcript` and carry every span along (inside the caller's transaction)."""
    report = EditReport(transcript.title, len(edits))
    if not edits:
        return report
    old = transcript.text
    edit_map = EditMap(edits, len(old))
    new = edit_map.apply(old)
    digest = text_hasher(session)
    transcript.text = new
    transcript.content_hash = digest(new)
    transcript.revision = (transcript.revision or 0) + 1

    for turn in session.scalars(select(Turn).where(Turn.transcript_id == transcript.id)):
        label_edited = turn.speaker and edit_map.touches(turn.start, turn.text_start - 1)
        turn.start, turn.end = edit_map.map_structural(turn.start, turn.end)
        turn.text_start = min(max(edit_map.map_structural(turn.text_start, turn.text_start)[0], turn.start), turn.end)
        if label_edited:  # the speaker's label itself was replaced: the turn is now that placeholder's
            turn.speaker = new[turn.start:turn.text_start].strip().rstrip(":").strip() or None

    segments = list(session.scalars(select(Segment).where(Segment.transcript_id == transcript.id)
                                    .order_by(Segment.start)))
    touched, kept = [], []
    for segment in segments:
        hit = edit_map.touches(segment.start, segment.end)
        segment.start, segment.end = edit_map.map_structural(segment.start, segment.end)
        if segment.end <= segment.start:
            session.delete(segment)
            continue
        segment.text_hash = digest(new[segment.start:segment.end])
        if hit:
            touched.append(segment)
        else:
            segment.lemmas = [[*edit_map.map_structural(a, b), lemma] for a, b, lemma in segment.lemmas]
        kept.append(segment)
    analyses = nlp.analyse([new[s.start:s.end] for s in touched])
    entity_rows = []
    for segment, analysis in zip(touched, analyses):
        segment.lemmas = [[segment.start + a, segment.start + b, lemma] for a, b, lemma in analysis.lemmas]
        entity_rows += [dict(transcript_id=transcript.id, start=segment.start + a, end=segment.start + b, label=label)
                        for a, b, label in analysis.entities]
    report.segments_reanalysed = len(touched)
    for entity in session.scalars(select(Entity).where(Entity.transcript_id == transcript.id)):
        if edit_map.touches(entity.start, entity.end):
            session.delete(entity)
        else:
            entity.start, entity.end = edit_map.map_structural(entity.start, entity.end)
    session.flush()
    if entity_rows:
        session.execute(insert(Entity.__table__), entity_rows)
    _rebuild_tokens(session, transcript, kept)

    seen: set[tuple] = set()
    for coding in session.scalars(select(Coding).where(Coding.transcript_id == transcript.id)
                                  .order_by(Coding.id)):
        start, end, cut = edit_map.map_coding(coding.start, coding.end)
        key = (coding.coder_id, coding.code_id, start, end)
        if key in seen or end <= start:  # made identical to another, or its text deleted
            session.delete(coding)
            report.codings_merged += 1
            continue
        seen.add(key)
        if (start, end) != (coding.start, coding.end):
            report.codings_moved += 1
            coding.start, coding.end = start, end
            coding.updated_at = utcnow()
        if cut:
            coding.flag = CUT_FLAG
            report.codings_flagged += 1
    _carry_answers(session, transcript, edit_map, digest)
    for ignored in session.scalars(select(IgnoredFinding).where(IgnoredFinding.transcript_id == transcript.id)):
        start, end, cut = edit_map.map_coding(ignored.start, ignored.end)
        if cut or edit_map.touches(ignored.start + 1, ignored.end - 1):
            session.delete(ignored)
        else:
            ignored.start, ignored.end = start, end
    session.flush()
    return report


def _carry_answers(session: Session, transcript: Transcript, edit_map: EditMap, digest) -> None:
    """Suggestion answers follow their sentence; an answer about an edited sentence is deleted
    (it was about words that are gone, and its hash would be a derivative of them)."""
    for answer in session.scalars(select(SuggestionDecision).where(SuggestionDecision.transcript_id == transcript.id)):
        if edit_map.touches(answer.start, answer.end):
            session.delete(answer)
        else:
            answer.start, answer.end = edit_map.map_structural(answer.start, answer.end)
            answer.text_hash = digest(transcript.text[answer.start:answer.end])


def _rebuild_tokens(session: Session, transcript: Transcript, segments: list[Segment]) -> None:
    """The lemma index of a transcript, rewritten from its segments' lemmas."""
    session.flush()
    session.execute(delete(Token).where(Token.transcript_id == transcript.id))
    rows, position = [], 0
    for segment in sorted(segments, key=lambda s: s.start):
        for start, end, lemma in segment.lemmas:
            rows.append(dict(segment_id=segment.id, transcript_id=transcript.id, position=position,
                             start=start, end=end, lemma=lemma[:100]))
            position += 1
    if rows:
        session.execute(insert(Token.__table__), rows)


def audit_positions(edits: list[Edit]) -> list[dict]:
    """Where each placeholder now stands in the new text (for the audit trail)."""
    out, shift = [], 0
    for edit in edits:
        out.append({"start": edit.start + shift, "end": edit.start + shift + len(edit.replacement),
                    "placeholder": edit.replacement})
        shift += edit.delta
    return out


def scrub_freed_text(study: Study) -> None:
    """Make the replaced text unrecoverable from the database file: SQLite overwrites freed
    pages (`secure_delete`) and checkpoints its write-ahead log; PostgreSQL vacuums the tables
    whose rows changed. Inside an open transaction this waits until it has committed (the
    checkpoint would otherwise wait for that very transaction and give up after the busy timeout,
    leaving the old text in the log)."""
    study.after_commit(lambda: _scrub_now(study))


def _scrub_now(study: Study) -> None:
    engine = study.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("transcripts", "segments", "tokens", "entities", "audit_log", "embeddings",
                          "suggestion_decisions"):
                connection.exec_driver_sql(f"VACUUM {table}")


def correct_text(study: Study, actor: Actor, title: str, start: int, end: int, text: str,
                 expected: str | None = None) -> EditReport:
    """Correct a transcription error: `[start, end)` becomes `text`. `expected`, when given,
    must be what is there now (a guard against stale offsets). Codings move with the text; a
    coding whose boundary the correction cuts through is flagged."""
    require(actor, "manage_transcripts")
    with study.transaction() as session:
        transcript = transcript_by_title(session, title)
        if not 0 <= start <= end <= len(transcript.text) or (start == end and not text):
            raise ValidationError(f"span {start}–{end} is outside the transcript or the correction is empty")
        if expected is not None and transcript.text[start:end] != expected:
            raise ValidationError("the text at that position is not what you expected: reload and try again")
        if "\n" in text and "\n" not in transcript.text[start:end]:
            raise ValidationError("a correction cannot add a line break (speaker turns would change)")
        done = edit_text(session, transcript, [Edit(start, end, text)])
        forget_unused_embeddings(session)
        record(session, actor.signature, "transcript.correct", transcript=title, start=start, end=end,
               length=len(text), codings_moved=done.codings_moved, codings_flagged=done.codings_flagged)
    scrub_freed_text(study)
    return done


WITHDRAWN = "[participant withdrew]"


@dataclass
class WithdrawReport:
    transcripts_deleted: int = 0
    turns_removed: int = 0
    codings_removed: int = 0
    memos_removed: int = 0


def withdraw_participant(study: Study, actor: Actor, pseudonym: str) -> WithdrawReport:
    """Remove a participant everywhere, in one transaction: their own transcripts (with turns,
    codings and memos), their turns in other transcripts (focus groups: the talk becomes
    "[participant withdrew]", codings inside it removed), their key entry and links. The audit
    entry names no one."""
    require(actor, "manage_participants")
    report = WithdrawReport()
    with study.transaction() as session:
        person = session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))
        if person is None:
            raise NotFound(f"no participant {pseudonym!r} in the key")
        # their transcripts: linked to them, or where every participant turn is theirs (an interview)
        own = list(session.scalars(select(Transcript).where(Transcript.participant_id == person.id)))
        for transcript in session.scalars(select(Transcript).where(Transcript.participant_id.is_(None))):
            speakers = {t.participant_id for t in transcript.turns if not t.is_interviewer}
            if speakers == {person.id}:
                own.append(transcript)
        for transcript in own:
            report.codings_removed += len(list(session.scalars(select(Coding.id).where(
                Coding.transcript_id == transcript.id))))
            report.memos_removed += len(list(session.scalars(select(Memo.id).where(
                Memo.transcript_id == transcript.id))))
            session.delete(transcript)
            report.transcripts_deleted += 1
        session.flush()
        turns = list(session.scalars(select(Turn).where(Turn.participant_id == person.id)))
        by_transcript: dict[int, list[Turn]] = {}
        for turn in turns:
            by_transcript.setdefault(turn.transcript_id, []).append(turn)
        for transcript_id, mine in by_transcript.items():
            transcript = session.get(Transcript, transcript_id)
            spans = [(t.start, t.end) for t in mine]  # label and talk: the text no longer says who
            inside = [c for c in session.scalars(select(Coding).where(Coding.transcript_id == transcript_id))
                      if any(a <= c.start and c.end <= b for a, b in spans)]
            for coding in inside:
                session.delete(coding)
            report.codings_removed += len(inside)
            session.flush()
            edit_text(session, transcript, [Edit(a, b, WITHDRAWN) for a, b in spans])
            for turn in mine:
                turn.text_start, turn.speaker, turn.participant_id = turn.start, None, None
            report.turns_removed += len(mine)
        session.execute(delete(ParticipantLink).where(
            (ParticipantLink.participant_id == person.id) | (ParticipantLink.linked_id == person.id)))
        session.delete(person)
        forget_unused_embeddings(session)  # also the vectors of the transcripts deleted with them
        record(session, actor.signature, "participant.withdraw", transcripts_deleted=report.transcripts_deleted,
               turns_removed=report.turns_removed, codings_removed=report.codings_removed,
               memos_removed=report.memos_removed)
    scrub_freed_text(study)
    return report


def find_term(text: str, term: str) -> list[tuple[int, int]]:
    """Whole-word, case-insensitive occurrences of `term` (any whitespace between its words)."""
    return [m.span() for m in term_pattern(term).finditer(text)] if term.split() else []
