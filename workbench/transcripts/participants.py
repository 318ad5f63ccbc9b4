"""The participant key: pseudonyms, roles, groups, ages, links and other attributes.

CSV columns: `pseudonym`, `role`, `group`, `age`, `linked_to` (pseudonyms separated by `;`),
and any other column, kept as an attribute. Importing updates participants by pseudonym and
adds new ones, in one transaction; speakers in every transcript are then re-linked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ..access import Actor, require
from ..audit import record
from ..csvio import read_rows, write_rows
from ..errors import ValidationError
from ..store import Study
from ..store.models import Participant, ParticipantLink
from .study import relink_all

KEY_COLUMNS = ("pseudonym", "role", "group", "age", "linked_to")


@dataclass
class ParticipantsReport:
    added: int
    updated: int
    links: int


def import_participants(study: Study, actor: Actor, data: bytes,
                        filename: str = "participants.csv") -> ParticipantsReport:
    require(actor, "manage_participants")
    rows = list(read_rows(data, filename, required=("pseudonym",)))
    parsed, links = [], {}
    seen: dict[str, int] = {}
    for number, row in rows:
        where = f"{filename}, row {number}"
        pseudonym = row["pseudonym"]
        if not pseudonym:
            raise ValidationError("empty pseudonym", where)
        if pseudonym.casefold() in seen:
            raise ValidationError(f"pseudonym {pseudonym!r} already on row {seen[pseudonym.casefold()]}", where)
        seen[pseudonym.casefold()] = number
        age = row.get("age", "")
        if age:
            try:
                age = int(age)
            except ValueError:
                raise ValidationError(f"age {age!r} is not a whole number", where) from None
            if not 0 <= age < 130:
                raise ValidationError(f"age {age} is out of range", where)
        attributes = {k: v for k, v in row.items() if k not in KEY_COLUMNS and k and v != ""}
        parsed.append((number, pseudonym, row.get("role") or None, row.get("group") or None,
                       age if age != "" else None, attributes))
        links[pseudonym] = (number, [p.strip() for p in row.get("linked_to", "").split(";") if p.strip()])

    with study.transaction() as session:
        existing = {p.pseudonym: p for p in session.scalars(select(Participant))}
        added = updated = 0
        for _number, pseudonym, role, group, age, attributes in parsed:
            person = existing.get(pseudonym)
            if person is None:
                person = Participant(pseudonym=pseudonym)
                session.add(person)
                existing[pseudonym] = person
                added += 1
            else:
                updated += 1
            person.role, person.group, person.age, person.attributes = role, group, age, attributes
        session.flush()
        link_count = 0
        for pseudonym in links:
            person = existing[pseudonym]
            session.execute(delete(ParticipantLink).where(or_(
                ParticipantLink.participant_id == person.id, ParticipantLink.linked_id == person.id)))
        session.flush()
        pairs = set()
        for pseudonym, (number, others) in links.items():
            for other in others:
                if other not in existing:
                    raise ValidationError(f"linked_to names {other!r}, who is not in the key",
                                          f"{filename}, row {number}")
                if other == pseudonym:
                    raise ValidationError("a participant cannot be linked to themselves",
                                          f"{filename}, row {number}")
                a, b = sorted((existing[pseudonym].id, existing[other].id))
                pairs.add((a, b))
        for a, b in sorted(pairs):
            session.add(ParticipantLink(participant_id=a, linked_id=b))
            link_count += 1
        session.flush()
        relink_all(session)
        record(session, actor.signature, "participants.import", file=filename, added=added, updated=updated)
    return ParticipantsReport(added, updated, link_count)


def add_participant(study: Study, actor: Actor, pseudonym: str, role: str | None = None,
                    group: str | None = None, age: int | None = None) -> None:
    """Add one participant to the key (a pseudonym not in it yet, any case), then re-link
    speakers in every transcript, so turns labelled with the pseudonym become theirs."""
    require(actor, "manage_participants")
    pseudonym = " ".join((pseudonym or "").split())
    if not pseudonym:
        raise ValidationError("give the participant's pseudonym")
    if len(pseudonym) > 100:
        raise ValidationError("a pseudonym has at most 100 characters")
    if age is not None and not 0 <= age < 130:
        raise ValidationError(f"age {age} is out of range")
    if len(role or "") > 100 or len(group or "") > 100:
        raise ValidationError("a role or group has at most 100 characters")
    with study.transaction() as session:
        if any(p.casefold() == pseudonym.casefold() for p in session.scalars(select(Participant.pseudonym))):
            raise ValidationError(f"{pseudonym!r} is already in the participant key")
        session.add(Participant(pseudonym=pseudonym, role=(role or "").strip() or None,
                                group=(group or "").strip() or None, age=age, attributes={}))
        session.flush()
        relink_all(session)
        record(session, actor.signature, "participants.add", added=1)


def linked(session: Session) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for link in session.scalars(select(ParticipantLink)):
        out.setdefault(link.participant_id, []).append(link.linked_id)
        out.setdefault(link.linked_id, []).append(link.participant_id)
    return out


def list_participants(study: Study) -> list[dict]:
    """Every participant as a plain dict: the key columns plus `attributes`."""
    with study.session() as session:
        people = list(session.scalars(select(Participant).order_by(Participant.pseudonym)))
        names = {p.id: p.pseudonym for p in people}
        links = linked(session)
        return [
            dict(pseudonym=p.pseudonym, role=p.role, group=p.group, age=p.age,
                 linked_to=sorted(names[i] for i in links.get(p.id, [])),
                 attributes=dict(p.attributes or {}))
            for p in people
        ]


def export_participants(study: Study) -> str:
    """The participant key as CSV text, same columns as import (attributes after)."""
    people = list_participants(study)
    extra = sorted({k for p in people for k in p["attributes"]})
    rows = [dict(p, linked_to=";".join(p["linked_to"]), **p["attributes"]) for p in people]
    return write_rows(list(KEY_COLUMNS) + extra, rows)
