"""Matched transcripts: linked participants (a mother and her child, from the participant key)
read side by side, theme by theme — convergence where both speak to a theme, divergence where
only one does.

A person's passages for a code are the codings of that code (or, for a theme, of any of its
sub-codes) that overlap a turn the person speaks, in whichever transcript. Whose coding is read
follows blindness: the consensus by default when it exists, else a coder (a coder sees only
their own until unblinding; a viewer sees only the consensus).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..access import Actor, visible_code
from ..codebook.study import CodeIndex, code_tree
from ..coding.codings import whose_coding
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import Participant, Transcript, Turn
from ..transcripts.participants import linked


@dataclass
class Passage:
    transcript: str
    start: int
    end: int
    text: str


@dataclass
class ThemeRow:
    code: str  # path
    depth: int
    first: list[Passage] = field(default_factory=list)
    second: list[Passage] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.first and self.second:
            return "both"
        if self.first or self.second:
            return "first only" if self.first else "second only"
        return "neither"


@dataclass
class MatchedView:
    first: str
    second: str
    coder: str
    rows: list[ThemeRow]
    # per person: their transcripts and how many of `coder`'s codings each has — a theme "only"
    # one of them raises may just be a transcript not coded (or not reconciled) yet
    coverage: dict[str, dict[str, int]] = field(default_factory=dict)

    def gaps(self) -> list[str]:
        """Transcripts of either person without any of `coder`'s codings."""
        return [title for person in (self.first, self.second)
                for title, n in self.coverage.get(person, {}).items() if n == 0]

    def summary(self) -> dict[str, int]:
        out = {"both": 0, "first only": 0, "second only": 0}
        for row in self.rows:
            if row.depth == 0 and row.status in out:
                out[row.status] += 1
        return out


def matched_pairs(study: Study) -> list[tuple[str, str]]:
    """Linked participants as (pseudonym, pseudonym) pairs, adults first."""
    with study.session() as session:
        people = {p.id: p for p in session.scalars(select(Participant))}
        pairs = set()
        for a, others in linked(session).items():
            for b in others:
                first, second = sorted((people[a], people[b]), key=lambda p: (p.age is not None, p.pseudonym))
                pairs.add((first.pseudonym, second.pseudonym))
        return sorted(pairs)


def _turns_of(session, person: Participant) -> dict[str, list[tuple[int, int]]]:
    spans: dict[str, list[tuple[int, int]]] = {}
    for title, start, end in session.execute(
            select(Transcript.title, Turn.text_start, Turn.end).join(Transcript, Turn.transcript_id == Transcript.id)
            .where(Turn.participant_id == person.id, Turn.is_interviewer.is_(False))):
        spans.setdefault(title, []).append((start, end))
    return spans


def matched_view(study: Study, actor: Actor, first: str, second: str,
                 coder: str | None = None) -> MatchedView:
    """Per theme and sub-theme, each person's passages (`coder`'s coding; default: the consensus
    for leads and viewers, the actor's own coding for a coder)."""
    with study.session() as session:
        people = []
        for name in (first, second):
            person = session.scalar(select(Participant).where(Participant.pseudonym == name))
            if person is None:
                raise NotFound(f"no participant {name!r} in the key")
            people.append(person)
        if people[0].id == people[1].id:
            raise ValidationError("choose two different participants")
        turns = [_turns_of(session, person) for person in people]
        coder, codings = whose_coding(session, actor, coder)
        index = CodeIndex(session)
        tree = [(index.path(code), len(path) - 1) for code, path in code_tree(
            session, False, lambda c: visible_code(actor, c.proposed_by_id))]
    rows = {path: ThemeRow(path, depth) for path, depth in tree}
    for coding in codings:
        for side, person_turns in enumerate(turns):
            spans = person_turns.get(coding.transcript, [])
            if not any(s < coding.end and coding.start < e for s, e in spans):
                continue
            passage = Passage(coding.transcript, coding.start, coding.end, coding.text)
            parts = coding.code.split("/")
            for depth in range(len(parts)):
                row = rows.get("/".join(parts[:depth + 1]))
                if row is not None:
                    target = row.first if side == 0 else row.second
                    if passage not in target:
                        target.append(passage)
    coverage = {}
    for name, person_turns in zip((first, second), turns):
        coverage[name] = {title: sum(1 for c in codings if c.transcript == title) for title in sorted(person_turns)}
    return MatchedView(first, second, coder, list(rows.values()), coverage)
