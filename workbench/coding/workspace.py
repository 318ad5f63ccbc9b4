"""The coding screen's data, as plain values: a transcript's turns and segments, pages of turns,
and turning a selection (segments, or a mouse selection from the browser) into a span."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from ..errors import ValidationError
from ..store import Study
from ..store.models import Participant, Segment, Turn
from .assignments import transcript_by_title
from .codings import locate_quote, same_words

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


def span_from_segments(view: TranscriptView, first: int, last: int) -> tuple[int, int]:
    """The span from the start of segment `first` to the end of segment `last` (numbers as shown)."""
    segments = view.segments
    if not 1 <= first <= last <= len(segments):
        raise ValidationError(f"choose segments between 1 and {len(segments)}, first before last")
    return segments[first - 1].start, segments[last - 1].end


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def selection_span(text: str, start: int, end: int, selected: str, window: int = 200) -> tuple[int, int]:
    """Reconcile a browser selection with the canonical text.

    The page sends code-point offsets and the selected text. If they agree (allowing for the
    speaker labels the page does not show), the span is trimmed of surrounding whitespace; if
    not (a browser counted differently), the selected text is looked for near `start` and the
    nearest match wins.
    """
    if not selected.strip():
        raise ValidationError("the selection is empty")
    if 0 <= start < end <= len(text):
        chosen, span_words = _words(selected), _words(text[start:end])
        # Across turns the page shows no speaker labels, so the selected words are the span's
        # words minus labels: same first and last word, all of them in order.
        if same_words(text[start:end], selected) or (
                chosen and span_words and chosen[0] == span_words[0] and chosen[-1] == span_words[-1]
                and _in_order(chosen, span_words)):
            return trim_span(text, start, end)
    found = [m for m in locate_quote(text, selected) if abs(m[0] - start) <= window]
    if not found:
        raise ValidationError("the selection does not match the transcript; select again")
    return min(found, key=lambda m: abs(m[0] - start))


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


def _words(text: str) -> list[str]:
    return unicodedata.normalize("NFC", text).split()


def _in_order(needles: list[str], haystack: list[str]) -> bool:
    position = 0
    for word in needles:
        try:
            position = haystack.index(word, position) + 1
        except ValueError:
            return False
    return True
