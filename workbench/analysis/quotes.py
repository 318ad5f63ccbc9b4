"""Themed quotes for a findings chapter: each coded passage as the participant's exact words,
attributed by pseudonym in the house style — `‘I can see a big difference.’ (Amy)`.

A quote is the exact text of the coded span, trimmed only of surrounding whitespace and never of
anything else; a span that crosses speakers (a focus group, a dialogue) becomes one quote per
turn, each with its own attribution, and interviewers' words are left out. Shortening is
optional and only drops whole sentences, marked with `…`. A passage spoken by someone the
participant key does not know is an error listed before any export, never printed as found.

Attribution templates use participant fields — `{pseudonym}`, `{role}`, `{group}`, `{age}` and
any attribute of the key — and a part whose field is empty drops out with its words:
`{pseudonym}, age {age} years` gives `Jack, age 16 years` for a young person and `Amy` for an
adult. Each literal piece belongs to the field after it (the last one to the field before it).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from ..access import Actor
from ..codebook.study import CodeIndex, code_tree
from ..coding.codings import whose_coding
from ..errors import ValidationError
from ..store import Study
from ..store.models import Participant, Transcript, Turn

PRESETS = {
    "pseudonym": "{pseudonym}",                      # (Amy)
    "service": "{group}",                            # (Service 4)
    "site and pseudonym": "{group} {pseudonym}",     # (LA01 HoS01)
    "pseudonym and age": "{pseudonym}, age {age} years",  # (Jack, age 18 years)
}
ORDERS = ("transcript", "participant", "role", "group")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Quote:
    theme: str  # the code's full path
    code: str  # its name
    text: str
    attribution: str
    pseudonym: str
    participant: dict  # role, group, age and attributes
    transcript: str
    start: int
    end: int
    time: float | None
    coder: str
    memo: str


@dataclass
class QuoteSet:
    quotes: list[Quote]
    themes: list[tuple[str, int, str]]  # (path, depth, definition) in codebook order, those with quotes
    coder: str
    template: str
    problems: list[str] = field(default_factory=list)

    def counts(self, theme: str) -> dict:
        """Quotes, distinct participants and participants by role for a theme (and its sub-codes)."""
        mine = [q for q in self.quotes if q.theme == theme or q.theme.startswith(theme + "/")]
        people = {q.pseudonym: q.participant.get("role") or "—" for q in mine}
        return {"quotes": len(mine), "participants": len(people), "by_role": dict(Counter(people.values()))}


def attribution(template: str, person: dict) -> str:
    """Fill `template` from `person`; parts whose field is empty drop out (see module doc)."""
    parts = list(string.Formatter().parse(template))
    pieces: list[tuple[str, str | None]] = []  # (literal, field) pairs
    for literal, name, _spec, _conv in parts:
        pieces.append((literal, name))
    out = []
    for k, (literal, name) in enumerate(pieces):
        if name is None:  # the final literal: belongs to the field before it
            before = pieces[k - 1][1] if k else None
            if before is None or _value(person, before):
                out.append(literal)
            continue
        value = _value(person, name)
        if value:
            out += [literal, value]
    return re.sub(r"\s+", " ", "".join(out)).strip(" ,;")


def _value(person: dict, name: str) -> str:
    value = person.get(name, person.get("attributes", {}).get(name))
    return "" if value is None else str(value).strip()


def check_template(template: str, fields: set[str]) -> str:
    try:
        names = {name for _l, name, _s, _c in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ValidationError(f"the attribution template is not valid ({error})") from None
    if not names:
        raise ValidationError("the attribution template names no field, e.g. {pseudonym}")
    unknown = names - fields
    if unknown:
        raise ValidationError(f"unknown field {{{sorted(unknown)[0]}}} in the attribution template; "
                              f"the key has {', '.join(sorted(fields))}")
    return template


def shorten(text: str, max_words: int | None) -> str:
    """Drop whole sentences from the end until at most `max_words` remain, marking the cut with
    `…` — never a word changed. The first sentence always stays."""
    if not max_words or len(text.split()) <= max_words:
        return text
    sentences = re.split(r"(?<=[.!?…])\s+", text)
    kept = [sentences[0]]
    for sentence in sentences[1:]:
        if len(" ".join(kept + [sentence]).split()) > max_words:
            break
        kept.append(sentence)
    if len(kept) == len(sentences):
        return text
    return " ".join(kept) + " " + ELLIPSIS


@dataclass
class QuoteFilter:
    codes: list[str] | None = None  # themes or sub-themes (with their sub-codes); default all
    roles: list[str] | None = None
    groups: list[str] | None = None
    attributes: dict[str, str] | None = None


def collect_quotes(study: Study, actor: Actor, coder: str | None = None, template: str = PRESETS["pseudonym"],
                   filters: QuoteFilter | None = None, order: str = "transcript",
                   max_words: int | None = None) -> QuoteSet:
    """The quotes of `coder`'s coding (default: the consensus; a coder may use only their own),
    as `actor` may read them, grouped by theme in codebook order."""
    filters = filters or QuoteFilter()
    if order not in ORDERS:
        raise ValidationError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    with study.session() as session:
        people = {p.id: p for p in session.scalars(select(Participant))}
        fields = {"pseudonym", "role", "group", "age"} | {k for p in people.values() for k in (p.attributes or {})}
        check_template(template, fields)
        coder, codings = whose_coding(session, actor, coder)
        index = CodeIndex(session)
        wanted = None
        if filters.codes:
            wanted = [index.path(index.resolve(ref)) for ref in filters.codes]
        tree = [(index.path(code), len(path) - 1, code.definition)
                for code, path in code_tree(session, True, lambda c: True)]
        turns: dict[str, list[Turn]] = {}
        for title, turn in session.execute(select(Transcript.title, Turn).join(Transcript).order_by(Turn.start)):
            turns.setdefault(title, []).append(turn)
        texts = dict(session.execute(select(Transcript.title, Transcript.text)).all())
    quotes, problems = [], []
    for coding in codings:
        if wanted and not any(coding.code == w or coding.code.startswith(w + "/") for w in wanted):
            continue
        text = texts[coding.transcript]
        for turn in turns.get(coding.transcript, []):
            start, end = max(coding.start, turn.text_start), min(coding.end, turn.end)
            if start >= end or turn.is_interviewer or not text[start:end].strip():
                continue
            person = people.get(turn.participant_id)
            if person is None:
                problems.append(f"{coding.transcript}: a passage at {start}–{end} is spoken by "
                                f"{turn.speaker or 'an unnamed speaker'}, who is not in the participant key")
                continue
            details = person_details(person)
            if not passes_filters(details, filters):
                continue
            piece = text[start:end]
            lead = len(piece) - len(piece.lstrip())
            trimmed = piece.strip()
            quotes.append(Quote(coding.code, coding.code.split("/")[-1], shorten(trimmed, max_words),
                                attribution(template, details), person.pseudonym, details, coding.transcript,
                                start + lead, start + lead + len(trimmed), turn.time_start, coding.coder, coding.memo))
    position = {path: k for k, (path, _d, _def) in enumerate(tree)}
    key = {"transcript": lambda q: (q.transcript, q.start),
           "participant": lambda q: (q.pseudonym, q.transcript, q.start),
           "role": lambda q: (q.participant.get("role") or "", q.pseudonym, q.start),
           "group": lambda q: (q.participant.get("group") or "", q.pseudonym, q.start)}[order]
    quotes.sort(key=lambda q: (position.get(q.theme, len(position)), key(q)))
    used = {q.theme for q in quotes}
    themes = [(path, depth, definition) for path, depth, definition in tree
              if any(u == path or u.startswith(path + "/") for u in used)]
    return QuoteSet(quotes, themes, coder, template, sorted(set(problems)))


def person_details(person: Participant) -> dict:
    """A participant as attribution templates and filters read them: the key's fields and
    `attributes`."""
    return {"pseudonym": person.pseudonym, "role": person.role, "group": person.group,
            "age": person.age, "attributes": dict(person.attributes or {})}


def passes_filters(person: dict, filters: QuoteFilter) -> bool:
    """Whether a participant (`person_details`) has one of `filters.roles` and `filters.groups`
    (when given) and every value of `filters.attributes` (a key field such as `age`, or an
    attribute)."""
    if filters.roles and (person["role"] or "") not in filters.roles:
        return False
    if filters.groups and (person["group"] or "") not in filters.groups:
        return False
    for name, value in (filters.attributes or {}).items():
        if str(person.get(name, person["attributes"].get(name, ""))) != value:
            return False
    return True
