"""The coding screen's data, as plain values: a transcript's turns and segments, and pages of
turns (a selection becomes a span in `coding/spans.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..store import Study
from ..store.models import Participant, Segment, Turn
from .assignments import transcript_by_title

PAGE_TURNS = 30


@dataclass(frozen=True)
class SegmentView:
    id: int
    number: int  # 1-based, across the transcript
    start: int
    end: int


@dataclass(frozen=True)
class TurnView:
    index: int
    speaker: str | None
    role: str | None
    interviewer: bool
    time_start: float | None
    start: int
    text_start: int
    end: int
    segments: tuple[SegmentView, ...]


@dataclass(frozen=True)
class TranscriptView:
    title: str
    text: str
    content_hash: str
    turns: tuple[TurnView, ...]

    @property
    def segments(self) -> list[SegmentView]:
        return [s for t in self.turns for s in t.segments]

    def pages(self, size: int = PAGE_TURNS) -> int:
        return max(1, -(-len(self.turns) // size))

    def page(self, number: int, size: int = PAGE_TURNS) -> tuple[TurnView, ...]:
        return self.turns[number * size:(number + 1) * size]

    def page_of(self, offset: int, size: int = PAGE_TURNS) -> int:
        """The page holding the turn at character `offset` (the last page if past the end)."""
        for k, turn in enumerate(self.turns):
            if offset < turn.end or k == len(self.turns) - 1:
                return k // size
        return 0


def transcript_view(study: Study, title: str) -> TranscriptView:
    """A transcript's structure (no codings: those depend on who is looking)."""
    with study.session() as session:
        transcript = transcript_by_title(session, title)
        roles = dict(session.execute(select(Participant.id, Participant.role)).all())
        segments: dict[int, list[SegmentView]] = {}
        rows = session.execute(select(Segment.id, Segment.turn_id, Segment.start, Segment.end)
                               .where(Segment.transcript_id == transcript.id).order_by(Segment.start))
        for number, (sid, turn_id, start, end) in enumerate(rows, start=1):
            segments.setdefault(turn_id, []).append(SegmentView(sid, number, start, end))
        turns = tuple(
            TurnView(t.index, t.speaker, roles.get(t.participant_id), t.is_interviewer, t.time_start,
                     t.start, t.text_start, t.end, tuple(segments.get(t.id, ())))
            for t in session.scalars(select(Turn).where(Turn.transcript_id == transcript.id).order_by(Turn.index))
        )
        return TranscriptView(transcript.title, transcript.text, transcript.content_hash, turns)


def check_readable(study: Study, actor, title: str) -> None:
    """Raise unless `actor` may read the transcript's text (coders and viewers: once released)."""
    from ..access import require_released

    with study.session() as session:
        require_released(actor, transcript_by_title(session, title))


def content_hash_of(study: Study, title: str) -> str:
    """Cheap check of a transcript's version (for caching its view): changes when its text is
    edited after import."""
    with study.session() as session:
        transcript = transcript_by_title(session, title)
        return f"{transcript.content_hash}:{transcript.revision}"
