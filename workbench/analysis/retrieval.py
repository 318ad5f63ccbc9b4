"""Coded retrieval: every passage coded with one or more codes across the study (NVivo's "open
node", MAXQDA's retrieved segments), each with who speaks it, where it is, a little context,
its memo and its coder; per code counts for the codebook; two coders side by side.

A passage is one coding. Its speaker is the first participant whose talk it covers (the
interviewer only when it covers nothing else) and it is attributed like a quote
(`analysis.quotes`: `{pseudonym}` by default, any template); a passage crossing speakers (a
focus group) names them all. Its place is where it starts, as people read it: the transcript,
the turn (counted from 1) and the turn's time where the source had one —
`M03_Carla, turn 37, 00:14:05`. Offsets stay in the data (`start`, `end`: code points into the
canonical text) for JSON and CSV.

Blindness is the data layer's (`access`): codings are read through `visible_coder_filter` and
`released_filter`; asking for a named coder's passages goes through `codings_refusal`. A coding's
memo is read with the coding, as `codings list` and the memos listing read it. Without a coder, a
coder reads their own passages and anyone else every passage they may read (a viewer: the
consensus), as `export_coder` says.

Reading is a fixed number of queries whatever the number of passages: the codebook, the
codings, their transcripts, those transcripts' turns, participants and users.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy import and_, distinct, false, func, select
from sqlalchemy.orm import Session

from ..access import (
    AccessDenied,
    Actor,
    codings_refusal,
    export_coder,
    released_filter,
    require,
    visible_coder_filter,
)
from ..codebook.colours import distinct_colours
from ..codebook.study import CodeIndex
from ..errors import NotFound, ValidationError
from ..places import place
from ..store import Study
from ..store.models import CONSENSUS_NAME, Code, Coding, Participant, Transcript, Turn, User
from .quotes import PRESETS, QuoteFilter, attribution, passes_filters, person_details

ORDERS = ("transcript", "participant", "length")
CONTEXT = 120  # characters of context before and after a passage, cut at a space


@dataclass(frozen=True)
class Passage:
    coding_id: int
    transcript: str
    start: int
    end: int
    code: str  # the code's full path
    color: str
    coder: str
    speaker: str | None  # the speaker label of the first participant turn it covers
    participant: str | None  # that speaker's pseudonym, when the key knows them
    role: str | None
    attribution: str  # "Amy"; "Ellie; Grace" across speakers; the label if not in the key
    speakers: tuple[str, ...]  # every speaker label it covers, in order
    turn: int | None  # the turn it starts in, counted from 1
    time: float | None  # that turn's start in seconds, where the source had times
    text: str  # the exact coded text
    before: str  # context: up to CONTEXT characters before, "…" where cut
    after: str
    memo: str  # the coding's memo
    round: int  # 1: coded blind; 2: after unblinding

    @property
    def place(self) -> str:
        return place(self.transcript, self.turn, self.time)

    @property
    def length(self) -> int:
        return self.end - self.start

    def as_dict(self) -> dict:
        """The JSON and CSV row: every field, `speakers` as a list, plus `place`."""
        return {**asdict(self), "speakers": list(self.speakers), "place": self.place}


@dataclass
class Retrieval:
    codes: list[str]  # the paths asked for (sub-codes not repeated)
    coder: str | None  # whose passages; None: every coding the actor may read
    subcodes: bool
    passages: list[Passage]

    def counts(self) -> dict[str, int]:
        return {"passages": len(self.passages),
                "transcripts": len({p.transcript for p in self.passages}),
                "participants": len({p.participant for p in self.passages if p.participant})}


@dataclass
class SideBySide:
    coders: tuple[str, str]
    # (transcript, first coder's passages, second coder's): unblinded transcripts where either coded
    transcripts: list[tuple[str, list[Passage], list[Passage]]] = field(default_factory=list)


@dataclass(frozen=True)
class CodeCounts:
    passages: int
    transcripts: int
    participants: int


def context_around(text: str, start: int, end: int, chars: int = CONTEXT) -> tuple[str, str]:
    """Up to `chars` characters before and after `[start, end)`, cut at a space (never in a
    word) and marked `…` where the text goes on. Speaker labels in the text show where a turn
    changes."""
    if chars <= 0:
        return "", ""
    a = max(0, start - chars)
    if a > 0:
        space = next((k for k in range(a, start) if text[k].isspace()), start)
        a = space + 1 if space < start else start
    b = min(len(text), end + chars)
    if b < len(text):
        space = next((k for k in range(b - 1, end - 1, -1) if text[k].isspace()), end)
        b = space
    before = ("…" if a > 0 else "") + text[a:start]
    after = text[end:b] + ("…" if b < len(text) else "")
    return before, after


@dataclass(frozen=True)
class _Turn:
    index: int
    start: int
    text_start: int
    end: int
    speaker: str | None
    interviewer: bool
    participant_id: int | None
    time: float | None


def _code_ids(index: CodeIndex, refs: Sequence[str], subcodes: bool) -> tuple[list[str], set[int]]:
    if not refs:
        raise ValidationError("choose at least one code")
    roots = [index.resolve(ref) for ref in refs]
    paths = [index.path(code) for code in roots]
    ids = {code.id for code in roots}
    if subcodes:
        ids |= {code.id for code in index.codes
                if any(index.path(code).startswith(path + "/") for path in paths)}
    return list(dict.fromkeys(paths)), ids


def _owner(session: Session, actor: Actor, coder: str, targets: Sequence[Transcript | None]) -> User:
    """The account whose passages `actor` asks for, refused unless they may read them on every
    one of `targets` (None: anywhere)."""
    owner = session.scalar(select(User).where(User.name == coder))
    if owner is None:
        if coder == CONSENSUS_NAME:
            raise ValidationError("there is no consensus coding yet: reconcile first, or choose a coder")
        raise NotFound(f"no user named {coder!r}")
    for target in targets:
        refused = codings_refusal(actor, owner, target)
        if refused:
            raise AccessDenied(refused)
    return owner


def _transcripts(session: Session, actor: Actor, titles: Sequence[str]) -> list[Transcript]:
    """The transcripts named, as `actor` may read them (one the actor may not read is unknown)."""
    found = {t.title: t for t in session.scalars(select(Transcript).where(
        Transcript.title.in_(list(titles)), released_filter(actor)))}
    missing = [t for t in titles if t not in found]
    if missing:
        raise ValidationError(f"no transcript titled {missing[0]!r}")
    return [found[t] for t in dict.fromkeys(titles)]


def _read(session: Session, actor: Actor, codes: Sequence[str], coder: str | None, subcodes: bool,
          transcripts: Sequence[str], unblinded_only: bool) -> tuple[list[str], list, CodeIndex]:
    """The code paths asked for and the rows of the codings `actor` may read with them."""
    index = CodeIndex(session, actor)
    paths, ids = _code_ids(index, codes, subcodes)
    chosen = _transcripts(session, actor, transcripts) if transcripts else []
    query = (select(Coding.id, Coding.transcript_id, Coding.code_id, Coding.coder_id, Coding.start, Coding.end,
                    Coding.memo, Coding.round)
             .join(Transcript, Coding.transcript_id == Transcript.id)
             .where(visible_coder_filter(actor), released_filter(actor), Coding.code_id.in_(sorted(ids))))
    if coder is not None:
        owner = _owner(session, actor, coder, chosen or [None])
        query = query.where(Coding.coder_id == owner.id)
    if chosen:
        query = query.where(Coding.transcript_id.in_([t.id for t in chosen]))
    if unblinded_only:
        query = query.where(Transcript.unblinded_at.is_not(None))
    return paths, list(session.execute(query)), index


def _passages(session: Session, rows: list, index: CodeIndex, filters: QuoteFilter,
              template: str, context: int) -> list[Passage]:
    """Rows of codings as passages: attributed, placed, with context (four queries)."""
    if not rows:
        return []
    ids = sorted({row.transcript_id for row in rows})
    transcripts = {t.id: t for t in session.scalars(select(Transcript).where(Transcript.id.in_(ids)))}
    turns: dict[int, list[_Turn]] = {}
    for t in session.execute(select(Turn.transcript_id, Turn.index, Turn.start, Turn.text_start, Turn.end,
                                    Turn.speaker, Turn.is_interviewer, Turn.participant_id, Turn.time_start)
                             .where(Turn.transcript_id.in_(ids)).order_by(Turn.transcript_id, Turn.start)):
        turns.setdefault(t.transcript_id, []).append(_Turn(*t[1:]))
    starts = {tid: [t.start for t in items] for tid, items in turns.items()}
    people = {p.id: person_details(p) for p in session.scalars(select(Participant))}
    coders = dict(session.execute(select(User.id, User.name)).all())
    codes: dict[int, Code] = {c.id: c for c in index.codes}
    colours = distinct_colours([(index.path(c), c.color) for c in index.codes])
    filtering = bool(filters.roles or filters.groups or filters.attributes)
    out = []
    for row in rows:
        transcript = transcripts[row.transcript_id]
        items = turns.get(row.transcript_id, [])
        k = max(bisect.bisect_right(starts.get(row.transcript_id, []), row.start) - 1, 0)
        home = items[k] if items and items[k].start <= row.start else None  # the turn it starts in
        covered = []
        while k < len(items) and items[k].start < row.end:
            turn = items[k]
            if turn.text_start < row.end and row.start < turn.end:
                covered.append(turn)
            k += 1
        spoken = [t for t in covered if not t.interviewer]
        persons = [people[t.participant_id] for t in spoken if t.participant_id in people]
        persons = list({p["pseudonym"]: p for p in persons}.values())
        if filtering and not any(passes_filters(p, filters) for p in persons):
            continue
        first = (spoken or covered or [None])[0]
        person = people.get(first.participant_id) if first is not None else None
        labels = [attribution(template, p) for p in persons]
        labels += [t.speaker for t in spoken if t.participant_id not in people and t.speaker]
        speaker = first.speaker if first is not None else None
        at = covered[0] if covered else home
        code = codes[row.code_id]
        before, after = context_around(transcript.text, row.start, row.end, context)
        out.append(Passage(
            row.id, transcript.title, row.start, row.end, index.path(code), colours[index.path(code)],
            coders[row.coder_id],
            speaker, person["pseudonym"] if person else None, person["role"] if person else None,
            "; ".join(dict.fromkeys(label for label in labels if label)) or speaker or "(no speaker)",
            tuple(dict.fromkeys(t.speaker for t in covered if t.speaker)),
            at.index + 1 if at else None, at.time if at else None,
            transcript.text[row.start:row.end], before, after,
            row.memo, row.round))
    return out


def _order(passages: list[Passage], order: str) -> list[Passage]:
    if order not in ORDERS:
        raise ValidationError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    key = {"transcript": lambda p: (p.transcript, p.start, p.end, p.code, p.coder),
           "participant": lambda p: (p.participant is None, p.participant or p.speaker or "", p.transcript, p.start),
           "length": lambda p: (-p.length, p.transcript, p.start)}[order]
    return sorted(passages, key=key)


def retrieve(study: Study, actor: Actor, codes: Sequence[str], *, coder: str | None = None,
             subcodes: bool = False, roles: Sequence[str] = (), attributes: dict[str, str] | None = None,
             transcripts: Sequence[str] = (), order: str = "transcript", context: int = CONTEXT,
             template: str = PRESETS["pseudonym"], unblinded_only: bool = False) -> Retrieval:
    """Every passage coded with `codes` (paths, unique names or GUIDs; with their sub-codes if
    `subcodes`) that `actor` may read: `coder`'s (default: `export_coder(actor)`), spoken by a
    participant with one of `roles` and the `attributes` (a key field such as `group` or `age`,
    or an attribute), in `transcripts`; ordered by transcript, participant or length (longest
    first)."""
    require(actor, "read_codings")
    if order not in ORDERS:
        raise ValidationError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    coder = coder or export_coder(actor)
    filters = QuoteFilter(roles=list(roles) or None, attributes=dict(attributes or {}) or None)
    with study.session() as session:
        paths, rows, index = _read(session, actor, codes, coder, subcodes, transcripts, unblinded_only)
        passages = _passages(session, rows, index, filters, template, context)
    return Retrieval(paths, coder, subcodes, _order(passages, order))


def side_by_side(study: Study, actor: Actor, codes: Sequence[str], coders: tuple[str, str], *,
                 subcodes: bool = False, context: int = CONTEXT) -> SideBySide:
    """Two coders' passages for `codes`, transcript by transcript, on unblinded transcripts only
    (a lead comparing coders after unblinding)."""
    require(actor, "compute_agreement", doing="compare two coders' passages")
    first, second = coders
    if first == second:
        raise ValidationError("choose two different coders")
    sides = [retrieve(study, actor, codes, coder=name, subcodes=subcodes, context=context, unblinded_only=True)
             for name in (first, second)]
    titles = sorted({p.transcript for side in sides for p in side.passages})
    result = SideBySide((first, second))
    for title in titles:
        result.transcripts.append((title, *[[p for p in side.passages if p.transcript == title] for side in sides]))
    return result


def code_counts(study: Study, actor: Actor, coder: str | None = None) -> dict[str, CodeCounts]:
    """Per code path (the code itself, not its sub-codes): passages, transcripts and participants
    coded with it in `coder`'s coding (default: `export_coder(actor)`), as `actor` may read them.
    A participant counts when a passage covers their talk. One grouped query."""
    require(actor, "read_codings")
    coder = coder or export_coder(actor)
    with study.session() as session:
        index = CodeIndex(session, actor)
        talk = and_(Turn.transcript_id == Coding.transcript_id, Turn.text_start < Coding.end,
                    Coding.start < Turn.end, Turn.is_interviewer == false())
        query = (select(Coding.code_id, func.count(distinct(Coding.id)), func.count(distinct(Coding.transcript_id)),
                        func.count(distinct(Turn.participant_id)))
                 .join(Transcript, Coding.transcript_id == Transcript.id)
                 .outerjoin(Turn, talk)
                 .where(visible_coder_filter(actor), released_filter(actor))
                 .group_by(Coding.code_id))
        if coder is not None:
            query = query.where(Coding.coder_id == _owner(session, actor, coder, [None]).id)
        visible = {c.id for c in index.codes}
        return {index.paths[code_id]: CodeCounts(passages, transcripts, participants)
                for code_id, passages, transcripts, participants in session.execute(query) if code_id in visible}
