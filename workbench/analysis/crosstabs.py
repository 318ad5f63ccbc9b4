"""Analysis views from one coder's coding (a coder: only their own; a viewer: the consensus):
code frequencies by participant attribute, code co-occurrence, and the
code × participant presence grid. A coding belongs to the participants whose talk it covers
(a passage across a focus group's turns counts for each speaker); interviewer talk is ignored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from ..access import Actor
from ..coding.codings import CodingRow, whose_coding
from ..errors import ValidationError
from ..store import Study
from ..store.models import Participant, Transcript, Turn


@dataclass
class CodedPassage:
    coding: CodingRow
    participants: list[Participant]


def _passages(study: Study, actor: Actor, coder: str | None) -> list[CodedPassage]:
    with study.session() as session:
        _coder, rows = whose_coding(session, actor, coder)
        people = {p.id: p for p in session.scalars(select(Participant))}
        titles = dict(session.execute(select(Transcript.id, Transcript.title)).all())
        turns: dict[str, list] = defaultdict(list)
        for turn in session.scalars(select(Turn).where(Turn.participant_id.is_not(None))):
            turns[titles[turn.transcript_id]].append(turn)
        out = []
        for row in rows:
            who = {t.participant_id for t in turns[row.transcript]
                   if t.text_start < row.end and row.start < t.end and not t.is_interviewer}
            out.append(CodedPassage(row, [people[i] for i in sorted(who)]))
        return out


def attribute_value(person: Participant, attribute: str) -> str:
    if attribute == "role":
        return person.role or "(none)"
    if attribute == "group":
        return person.group or "(none)"
    if attribute == "age":
        return "(none)" if person.age is None else str(person.age)
    return str((person.attributes or {}).get(attribute, "(none)"))


def frequencies(study: Study, actor: Actor, coder: str | None, by: str = "role") -> list[dict]:
    """Per code and attribute value: passages coded and distinct participants."""
    passages = _passages(study, actor, coder)
    counts: dict[tuple[str, str], list] = defaultdict(lambda: [0, set()])
    for passage in passages:
        for value in {attribute_value(p, by) for p in passage.participants}:
            counts[(passage.coding.code, value)][0] += 1
        for person in passage.participants:
            counts[(passage.coding.code, attribute_value(person, by))][1].add(person.pseudonym)
    return [{"code": code, by: value, "passages": n, "participants": len(people)}
            for (code, value), (n, people) in sorted(counts.items())]


def cooccurrence(study: Study, actor: Actor, coder: str | None) -> list[dict]:
    """Pairs of codes applied to overlapping passages (by the same coder): how many passages of
    the first code overlap a passage of the second."""
    passages = _passages(study, actor, coder)
    by_transcript: dict[str, list[CodingRow]] = defaultdict(list)
    for passage in passages:
        by_transcript[passage.coding.transcript].append(passage.coding)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for rows in by_transcript.values():
        for a in rows:
            partners = {b.code for b in rows if b.code != a.code and b.start < a.end and a.start < b.end}
            for code in partners:
                counts[(a.code, code)] += 1
    return [{"code": a, "with": b, "passages": n} for (a, b), n in sorted(counts.items())]


def presence(study: Study, actor: Actor, coder: str | None) -> list[dict]:
    """Code × participant presence (1 if any of the participant's talk is coded with it)."""
    seen = {(p.pseudonym, passage.coding.code) for passage in _passages(study, actor, coder)
            for p in passage.participants}
    with study.session() as session:
        people = [p.pseudonym for p in session.scalars(select(Participant).order_by(Participant.pseudonym))]
    codes = sorted({code for _p, code in seen})
    return [{"code": code, **{person: int((person, code) in seen) for person in people}} for code in codes]


REPORTS = {"frequencies": frequencies, "cooccurrence": cooccurrence, "presence": presence}


def report(study: Study, actor: Actor, kind: str, coder: str | None = None, by: str = "role") -> list[dict]:
    if kind not in REPORTS:
        raise ValidationError(f"unknown report {kind!r}; expected one of {', '.join(REPORTS)}")
    if kind == "frequencies":
        return frequencies(study, actor, coder, by)
    return REPORTS[kind](study, actor, coder)
