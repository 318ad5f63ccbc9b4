"""Corpus search: lemma (default: "ring" finds "rang", "ringing"), exact phrase, or regular
expression, over participants' talk, with filters by participant attributes, speaker,
transcript and code; results as keyword-in-context lines with counts by participant and
attribute.

Lemma search reads the lemma index written at import (`tokens`), so it stays fast on a large
corpus; phrase and regular-expression search scan the canonical texts. Matching ignores case.
Interviewer turns are left out unless asked for; speaker labels are never searched.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased, defer

from .. import nlp
from ..access import Actor, released_filter
from ..codebook.study import CodeIndex
from ..coding.codings import visible_codings
from ..errors import ValidationError
from ..store import Study
from ..store.models import Participant, Token, Transcript, Turn

MODES = ("lemma", "phrase", "regex")


@dataclass(frozen=True)
class Filters:
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # (name, value): participant attributes
    speakers: tuple[str, ...] = ()  # pseudonyms or speaker labels
    transcripts: tuple[str, ...] = ()
    code: str | None = None  # only inside passages coded with this code (or its sub-codes)
    coder: str | None = None  # whose codings `code` refers to (default: every coding the actor may read)
    include_interviewer: bool = False

    @property
    def by_participant(self) -> bool:
        return bool(self.roles or self.groups or self.min_age is not None or self.max_age is not None
                    or self.attributes)


@dataclass
class Hit:
    transcript: str
    start: int
    end: int
    speaker: str | None
    pseudonym: str | None
    role: str | None
    group: str | None
    match: str
    text: str  # the keyword-in-context line


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    by_participant: dict[str, int] = field(default_factory=dict)
    by_role: dict[str, dict[str, int]] = field(default_factory=dict)   # role -> hits, participants
    by_group: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class _Turn:
    start: int
    text_start: int
    end: int
    speaker: str | None
    interviewer: bool
    participant: Participant | None


def _query_lemmas(query: str) -> list[set[str]]:
    words = query.split()
    if not words:
        raise ValidationError("the search is empty")
    (analysis,) = nlp.analyse([query])
    lemmas = [lemma for _s, _e, lemma in analysis.lemmas]
    surface = [re.sub(r"[^\w'’-]", "", w).lower() for w in words]
    surface = [w for w in surface if w]
    if len(lemmas) != len(surface):  # tokenisation split a word: match lemmas alone
        return [{lemma} for lemma in lemmas]
    return [{lemma, word} for lemma, word in zip(lemmas, surface)]


def _lemma_spans(session: Session, query: str, transcript_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """(start, end) of every run of consecutive words whose lemmas match the query's."""
    wanted = _query_lemmas(query)
    tokens = [aliased(Token) for _ in wanted]
    first, last = tokens[0], tokens[-1]
    statement = select(first.transcript_id, first.start, last.end).where(
        first.lemma.in_(wanted[0]), first.transcript_id.in_(transcript_ids))
    for k, token in enumerate(tokens[1:], start=1):
        statement = statement.join(token, and_(token.transcript_id == first.transcript_id,
                                               token.position == first.position + k, token.lemma.in_(wanted[k])))
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for transcript_id, start, end in session.execute(statement):
        spans[transcript_id].append((start, end))
    return spans


def _pattern(query: str, mode: str) -> re.Pattern:
    if mode == "phrase":
        words = query.split()
        if not words:
            raise ValidationError("the search is empty")
        return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
    try:
        pattern = re.compile(query, re.IGNORECASE)
    except re.error as exc:
        raise ValidationError(f"not a valid regular expression: {exc}") from None
    if pattern.search(""):
        raise ValidationError("the regular expression matches empty text; make it match at least one character")
    return pattern


def _participant_ok(person: Participant | None, filters: Filters) -> bool:
    if not filters.by_participant:
        return True
    if person is None:
        return False
    if filters.roles and (person.role or "") not in filters.roles:
        return False
    if filters.groups and (person.group or "") not in filters.groups:
        return False
    if filters.min_age is not None and (person.age is None or person.age < filters.min_age):
        return False
    if filters.max_age is not None and (person.age is None or person.age > filters.max_age):
        return False
    return all(str((person.attributes or {}).get(name, "")) == value for name, value in filters.attributes)


def _turn_ok(turn: _Turn, filters: Filters) -> bool:
    if turn.interviewer and not filters.include_interviewer:
        return False
    if filters.speakers:
        names = {turn.speaker or ""} | ({turn.participant.pseudonym} if turn.participant else set())
        if not names & set(filters.speakers):
            return False
    return turn.interviewer or _participant_ok(turn.participant, filters)


def _kwic(text: str, turn: _Turn, start: int, end: int, context: int) -> str:
    left_start = max(turn.text_start, start - context)
    right_end = min(turn.end, end + context)
    left = ("…" if left_start > turn.text_start else "") + text[left_start:start]
    right = text[end:right_end] + ("…" if right_end < turn.end else "")
    return " ".join((left + text[start:end] + right).split())


def search(study: Study, actor: Actor, query: str, mode: str = "lemma", filters: Filters = Filters(),
           context: int = 60) -> SearchResult:
    """Every match of `query` in participants' talk that passes `filters`, as `actor` may see it."""
    if mode not in MODES:
        raise ValidationError(f"unknown search mode {mode!r}; expected one of {', '.join(MODES)}")
    with study.session() as session:
        # Lemma search reads the index; a transcript's text is loaded only if it has hits.
        query_all = select(Transcript).options(defer(Transcript.text)) if mode == "lemma" else select(Transcript)
        transcripts = {t.id: t for t in session.scalars(query_all.where(released_filter(actor)))}
        if filters.transcripts:
            titles = {t.title: i for i, t in transcripts.items()}
            missing = [t for t in filters.transcripts if t not in titles]
            if missing:
                raise ValidationError(f"no transcript titled {missing[0]!r}")
            transcripts = {titles[t]: transcripts[titles[t]] for t in filters.transcripts}
        if mode == "lemma":
            spans = _lemma_spans(session, query, list(transcripts))
        else:
            pattern = _pattern(query, mode)
            spans = {i: [m.span() for m in pattern.finditer(t.text)] for i, t in transcripts.items()}
            spans = {i: found for i, found in spans.items() if found}
        coded = _coded_spans(session, actor, filters) if filters.code else None
        people = {p.id: p for p in session.scalars(select(Participant))}
        hits: list[Hit] = []
        for transcript_id in sorted(spans, key=lambda i: transcripts[i].title):
            transcript = transcripts[transcript_id]
            turns = [_Turn(t.start, t.text_start, t.end, t.speaker, t.is_interviewer, people.get(t.participant_id))
                     for t in session.scalars(select(Turn).where(Turn.transcript_id == transcript_id)
                                              .order_by(Turn.start))]
            starts = [t.start for t in turns]
            allowed = coded.get(transcript.title, []) if coded is not None else None
            for start, end in sorted(set(spans[transcript_id])):
                k = bisect.bisect_right(starts, start) - 1
                if k < 0:
                    continue
                turn = turns[k]
                if not (turn.text_start <= start and end <= turn.end) or not _turn_ok(turn, filters):
                    continue
                if allowed is not None and not any(a < end and start < b for a, b in allowed):
                    continue
                person = turn.participant
                hits.append(Hit(transcript.title, start, end, turn.speaker, person.pseudonym if person else None,
                                person.role if person else None, person.group if person else None,
                                transcript.text[start:end], _kwic(transcript.text, turn, start, end, context)))
    return _with_counts(SearchResult(query, mode, hits))


def _coded_spans(session: Session, actor: Actor, filters: Filters) -> dict[str, list[tuple[int, int]]]:
    index = CodeIndex(session, actor)
    root = index.resolve(filters.code)
    paths = {p for p in (index.path(c) for c in index.codes)
             if p == index.path(root) or p.startswith(index.path(root) + "/")}
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in visible_codings(session, actor, coder=filters.coder):
        if row.code in paths:
            out[row.transcript].append((row.start, row.end))
    return out


def _with_counts(result: SearchResult) -> SearchResult:
    by_participant = Counter(h.pseudonym or h.speaker or "(unknown)" for h in result.hits)
    for attr, target in (("role", result.by_role), ("group", result.by_group)):
        counts: dict[str, list] = defaultdict(lambda: [0, set()])
        for h in result.hits:
            key = getattr(h, attr) or "(none)"
            counts[key][0] += 1
            counts[key][1].add(h.pseudonym or h.speaker)
        target.update({k: {"hits": v[0], "participants": len(v[1])} for k, v in sorted(counts.items())})
    result.by_participant = dict(by_participant.most_common())
    return result
