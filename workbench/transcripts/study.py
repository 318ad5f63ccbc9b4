"""Import transcripts into a study: read, detect turns, one NLP pass, store — one transaction.

`import_transcripts` reads every file first (bad input fails before anything is written),
then writes all of them inside one transaction: if anything fails, or the process dies,
nothing of the import is in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from .. import nlp
from ..access import Actor, allowed, released_filter, require
from ..audit import record
from ..errors import InputError, NotFound, ValidationError
from ..store import Study
from ..store.models import Assignment, Coding, Entity, Memo, Participant, Segment, Token, Transcript, Turn
from ..store.secrets import text_hasher
from .formats import Source, check_file_size, read_source
from .speakers import TurnSpan, detect_turns, is_interviewer, is_respondent


@dataclass(frozen=True)
class FileInput:
    """A file to import: its name (for format, title and messages), its bytes, and
    optionally the participant interviewed (overrides the import's `participant`)."""

    name: str
    data: bytes
    participant: str | None = None

    @classmethod
    def from_path(cls, path: str | Path, participant: str | None = None) -> "FileInput":
        path = Path(path)
        try:
            if path.is_file():  # a file over its format's limit is refused before it is read
                check_file_size(path.name, path.stat().st_size)
            return cls(path.name, path.read_bytes(), participant)
        except FileNotFoundError:
            raise InputError("no such file", str(path)) from None
        except IsADirectoryError:
            raise InputError("is a folder, not a file", str(path)) from None
        except PermissionError:
            raise InputError("permission denied", str(path)) from None


@dataclass
class ImportedTranscript:
    title: str
    filename: str
    format: str
    encoding: str
    turns: int
    segments: int
    speakers: list[str]
    unlinked_speakers: list[str]
    notes: list[str] = field(default_factory=list)
    # what the anonymisation check found (reviewed with `workbench scan` before release)
    possible_identifiers: int = 0


@dataclass
class ImportReport:
    transcripts: list[ImportedTranscript] = field(default_factory=list)


Progress = Callable[[int, int, str], None]


def import_transcripts(
    study: Study,
    actor: Actor,
    files: Iterable[FileInput],
    *,
    title: str | None = None,
    participant: str | None = None,
    meta: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import transcript files in one transaction (leads only). Raises a WorkbenchError on
    bad input."""
    require(actor, "manage_transcripts")
    files = list(files)
    if not files:
        raise InputError("no files given")
    if title is not None and len(files) != 1:
        raise InputError("--title names one transcript: give exactly one file")
    sources = [read_source(f.name, f.data) for f in files]
    titles = [title if title is not None else Path(s.filename).stem for s in sources]
    _check_titles(titles, sources)

    pipeline = nlp.load_pipeline()
    report = ImportReport()
    with study.transaction() as session:
        _check_new(session, titles, sources)
        analysed = analyse_sources(sources, pipeline)
        stored = []
        for number, (file, source, name) in enumerate(zip(files, sources, titles), start=1):
            who = file.participant or participant
            owner = _participant(session, who) if who else None
            transcript, segments = store_transcript(session, source, name, pipeline, owner, meta, analysed[number - 1])
            report.transcripts.append(_summary(transcript, source, segments))
            stored.append(transcript)
            record(session, actor.signature, "transcript.import", title=name, format=source.format,
                   encoding=source.encoding)  # not the file name: it may name someone (kept until release)
            session.flush()
            if progress:
                progress(number, len(sources), name)
        _count_identifiers(session, stored, analysed, report)
    return report


def _count_identifiers(session: Session, transcripts: list[Transcript], analysed: list[tuple],
                       report: ImportReport) -> None:
    """Run the anonymisation check on the import's own NLP pass (no second pass) and count its
    findings per transcript; the findings themselves are reviewed later (`workbench scan`)."""
    from ..privacy.scan import scan_prepared

    prepared = []
    for transcript, (_spans, pieces, analyses) in zip(transcripts, analysed):
        docs = [a.tagged for a in analyses]
        prepared.append((transcript, [(start, end) for _, start, end in pieces],
                         None if any(d is None for d in docs) else docs))
    found: dict[str, int] = {}
    for finding in scan_prepared(session, prepared):
        found[finding.transcript] = found.get(finding.transcript, 0) + 1
    for summary in report.transcripts:
        summary.possible_identifiers = found.get(summary.title, 0)


def _check_titles(titles: list[str], sources: list[Source]) -> None:
    seen: dict[str, str] = {}
    texts: dict[str, str] = {}
    for name, source in zip(titles, sources):
        if not name.strip():
            raise InputError("the title is empty", source.filename)
        if name in seen:
            raise ValidationError(f"two files would both be titled {name!r} ({seen[name]})",
                                  source.filename)
        seen[name] = source.filename
        if source.text in texts:
            raise ValidationError(f"same content as {texts[source.text]}", source.filename)
        texts[source.text] = source.filename


def _check_new(session: Session, titles: list[str], sources: list[Source]) -> None:
    digest = text_hasher(session)
    for name, source in zip(titles, sources):
        if session.scalar(select(Transcript.id).where(Transcript.title == name)):
            raise ValidationError(
                f"a transcript titled {name!r} already exists (use --title to choose another)",
                source.filename,
            )
        existing = session.scalar(
            select(Transcript.title).where(Transcript.content_hash == digest(source.text))
        )
        if existing:
            raise ValidationError(f"this content was already imported as {existing!r}",
                                  source.filename)


def _participant(session: Session, pseudonym: str) -> Participant:
    found = session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))
    if found is None:
        raise NotFound(f"no participant {pseudonym!r} in the participant key "
                       "(import the key first: workbench participants import FILE.csv)")
    return found


def analyse_sources(sources: list[Source], pipeline: nlp.Pipeline) -> list[tuple]:
    """Turns and the NLP analysis of every source's talk, in one batched pass over all of them
    (so a large import can use several processes). Per source: (turn spans, pieces, analyses)."""
    prepared, texts = [], []
    for source in sources:
        spans = detect_turns(source.text, source.hints)
        if not spans:
            raise InputError("no talk found in the file", source.filename)
        pieces = [(turn_no, start, end) for turn_no, span in enumerate(spans) for start, end in span.talk]
        prepared.append((spans, pieces))
        texts += [source.text[start:end] for _, start, end in pieces]
    analyses = nlp.analyse(texts, pipeline)
    out, k = [], 0
    for spans, pieces in prepared:
        out.append((spans, pieces, analyses[k:k + len(pieces)]))
        k += len(pieces)
    return out


def store_transcript(
    session: Session,
    source: Source,
    title: str,
    pipeline: nlp.Pipeline,
    owner: Participant | None = None,
    meta: dict[str, str] | None = None,
    prepared: tuple | None = None,
) -> tuple[Transcript, int]:
    """Add transcript, turns, segments and entities (`prepared`: its `analyse_sources` result;
    computed here when not given). Returns the transcript and its number of segments."""
    text = source.text
    digest = text_hasher(session)
    spans, pieces, analyses = prepared or analyse_sources([source], pipeline)[0]
    transcript = Transcript(
        title=title,
        text=text,
        source_filename=source.filename,
        source_format=source.format,
        encoding=source.encoding,
        content_hash=digest(text),
        participant_id=owner.id if owner else None,
        segmenter=pipeline.segmenter,
        nlp_pipeline=pipeline.name,
        metadata_=dict(meta or {}),
    )
    session.add(transcript)
    session.flush()

    turns = [_turn(transcript, k, span) for k, span in enumerate(spans)]
    session.add_all(turns)
    session.flush()
    link_turns(session, transcript, turns)

    segment_rows, entity_rows, token_lists = [], [], []
    segment_index = 0
    for (turn_no, offset, _end), analysis in zip(pieces, analyses):
        for s, e in analysis.sentences:
            start, end = offset + s, offset + e
            lemmas = [[offset + a, offset + b, lemma] for a, b, lemma in analysis.lemmas if s <= a and b <= e]
            segment_rows.append(dict(
                transcript_id=transcript.id, turn_id=turns[turn_no].id, idx=segment_index,
                start=start, end=end,
                text_hash=digest(text[start:end]),
                lemmas=lemmas,
            ))
            token_lists.append(lemmas)
            segment_index += 1
        entity_rows += [dict(transcript_id=transcript.id, start=offset + a, end=offset + b, label=label)
                        for a, b, label in analysis.entities]
    if segment_rows:
        ids = session.execute(insert(Segment.__table__).returning(Segment.__table__.c.id, sort_by_parameter_order=True),
                              segment_rows).scalars().all()
        tokens, position = [], 0
        for segment_id, lemmas in zip(ids, token_lists):
            for start, end, lemma in lemmas:
                tokens.append(dict(segment_id=segment_id, transcript_id=transcript.id, position=position,
                                   start=start, end=end, lemma=lemma[:100]))
                position += 1
        if tokens:
            session.execute(insert(Token.__table__), tokens)
    if entity_rows:
        session.execute(Entity.__table__.insert(), entity_rows)
    return transcript, len(segment_rows)


def _turn(transcript: Transcript, index: int, span: TurnSpan) -> Turn:
    return Turn(
        transcript_id=transcript.id, index=index, start=span.start, text_start=span.text_start,
        end=span.end, speaker=span.speaker, is_interviewer=is_interviewer(span.speaker),
        time_start=span.time_start, time_end=span.time_end,
    )


def link_turns(session: Session, transcript: Transcript, turns: Iterable[Turn] | None = None) -> None:
    """Link each turn's speaker to a participant: by pseudonym (case-insensitive), or, for
    respondent labels such as `R:`, to the transcript's own participant."""
    by_name = {p.pseudonym.casefold(): p.id for p in session.scalars(select(Participant))}
    turns = transcript.turns if turns is None else turns
    for turn in turns:
        if turn.is_interviewer or not turn.speaker:
            turn.participant_id = None
        elif turn.speaker.casefold() in by_name:
            turn.participant_id = by_name[turn.speaker.casefold()]
        elif is_respondent(turn.speaker):
            turn.participant_id = transcript.participant_id
        else:
            turn.participant_id = None


def relink_all(session: Session) -> None:
    """Re-link every transcript's speakers (after the participant key changed)."""
    for transcript in session.scalars(select(Transcript)):
        link_turns(session, transcript)


def _summary(transcript: Transcript, source: Source, segments: int) -> ImportedTranscript:
    speakers = []
    unlinked = []
    for turn in transcript.turns:
        if turn.speaker and turn.speaker not in speakers:
            speakers.append(turn.speaker)
            if not turn.is_interviewer and turn.participant_id is None:
                unlinked.append(turn.speaker)
    notes = list(source.notes)
    if not speakers:
        notes.append("no speaker labels found: the whole text is one unattributed turn "
                     "(expected lines such as 'Interviewer:' and 'Amy:')")
    if "fallback" in source.encoding:
        notes.append(f"decoded as {source.encoding}")
    return ImportedTranscript(
        title=transcript.title, filename=source.filename, format=source.format,
        encoding=source.encoding, turns=len(transcript.turns),
        segments=segments,
        speakers=speakers, unlinked_speakers=unlinked, notes=notes,
    )


def list_transcripts(study: Study, actor: Actor) -> list[dict]:
    """The transcripts `actor` may read (a lead every one, others the released ones) with their
    source, participant and counts of turns and segments. The original file name (`file`) only
    for those who may see it (leads): it may name someone; for others it is None."""
    files = allowed(actor, "read_source_files")
    with study.session() as session:
        turns = dict(session.execute(select(Turn.transcript_id, func.count()).group_by(Turn.transcript_id)).all())
        segments = dict(session.execute(
            select(Segment.transcript_id, func.count()).group_by(Segment.transcript_id)).all())
        names = dict(session.execute(select(Participant.id, Participant.pseudonym)).all())
        return [
            dict(title=t.title, file=t.source_filename if files else None, format=t.source_format,
                 encoding=t.encoding,
                 participant=names.get(t.participant_id), characters=len(t.text),
                 turns=turns.get(t.id, 0), segments=segments.get(t.id, 0),
                 segmenter=t.segmenter, nlp_pipeline=t.nlp_pipeline, metadata=t.metadata_,
                 imported_at=t.imported_at)
            for t in session.scalars(select(Transcript).where(released_filter(actor)).order_by(Transcript.title))
        ]


def transcript_turns(study: Study, title: str) -> list[dict]:
    """A transcript's turns in order: speaker, participant role, time and talk text."""
    with study.session() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.title == title))
        if transcript is None:
            raise NotFound(f"no transcript titled {title!r}")
        roles = dict(session.execute(select(Participant.id, Participant.role)).all())
        return [
            dict(index=t.index, speaker=t.speaker, role=roles.get(t.participant_id),
                 interviewer=t.is_interviewer, start=t.start, end=t.end, time_start=t.time_start,
                 text=transcript.text[t.text_start:t.end])
            for t in transcript.turns
        ]


def delete_transcript(study: Study, actor: Actor, title: str) -> dict:
    """Remove a transcript imported by mistake, with everything attached to it (turns,
    segments, index, codings, assignments, memos), in one transaction. Returns what went."""
    from ..suggest.corpus import forget_unused_embeddings  # numpy and embeddings: not loaded for an import

    require(actor, "manage_transcripts")
    with study.transaction() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.title == title))
        if transcript is None:
            raise NotFound(f"no transcript titled {title!r}")
        counts = {name: session.scalar(select(func.count()).select_from(model).where(model.transcript_id == transcript.id))
                  for name, model in (("codings", Coding), ("assignments", Assignment), ("memos", Memo))}
        for model in (Token, Entity, Coding, Assignment, Memo, Segment, Turn):
            session.execute(delete(model).where(model.transcript_id == transcript.id))
        session.delete(transcript)
        forget_unused_embeddings(session)
        record(session, actor.signature, "transcript.delete", title=title, **counts)
        return counts
