"""The anonymisation review as a researcher reads it (pure: findings in, rows out).

The check reports every occurrence; a lead decides per distinct term. `group_findings` makes
one row per term (compared as `identifiers.normalise_term` compares terms, a name in a title
or file name as it would be spoken), with its count, every occurrence and a suggested
placeholder; a decision on a row applies to all its occurrences (`decisions_for`). Speaker
labels the participant key does not know are folded into their term's row, which is then
offered as "add to the participant key" instead of one finding per turn.

Placeholders are suggested from the words around each occurrence and the finding's type
(`suggest`): a relation next to a name (`my son Kyle` → `[son]`, `Sarah, our key worker` →
`[key worker]`), a place where someone lives or moved (`[town]`), a school, a date, a phone
number. The private key's replacement for a real name wins over everything; `[name]` is the
last resort for a name with nothing around it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..places import clock
from .identifiers import FILE_NAME, normalise_term, title_words

SPEAKER_RULE = "speaker not in the participant key"

# The placeholder of a finding's type when its context says nothing more.
TYPE_PLACEHOLDERS = {"name": "[name]", "place": "[place]", "school": "[school]", "organisation": "[organisation]",
                     "phone": "[phone number]", "email": "[e-mail address]", "postcode": "[postcode]",
                     "url": "[website]", "date": "[date]", FILE_NAME: "[name]"}

# Relation words said next to a name, and the placeholder each gives (first match wins, so
# longer phrases come before the words they contain).
RELATIONS: list[tuple[str, str]] = [
    (r"step-?sons?", "[stepson]"), (r"step-?daughters?", "[stepdaughter]"),
    (r"step-?dad|step-?father", "[stepfather]"), (r"step-?mum|step-?mother", "[stepmother]"),
    (r"grand-?sons?", "[grandson]"), (r"grand-?daughters?", "[granddaughter]"),
    (r"sons?|boys?|lads?", "[son]"), (r"daughters?|girls?", "[daughter]"),
    (r"kids?|child|children|youngest|eldest|oldest|baby|toddler", "[child]"),
    (r"family support workers?", "[family support worker]"), (r"key ?workers?", "[key worker]"),
    (r"social workers?", "[social worker]"), (r"support workers?", "[support worker]"),
    (r"family workers?", "[family worker]"), (r"youth workers?", "[youth worker]"),
    (r"case ?workers?", "[case worker]"), (r"health visitors?", "[health visitor]"),
    (r"head ?teachers?|head ?master|head ?mistress|head of year", "[head teacher]"),
    (r"class teachers?|teachers?|form tutors?|tutors?|teaching assistants?", "[teacher]"),
    (r"sencos?", "[SENCO]"), (r"counsellors?", "[counsellor]"), (r"therapists?", "[therapist]"),
    (r"psychologists?|psychiatrists?", "[psychologist]"), (r"gps?|doctors?", "[doctor]"),
    (r"nurses?", "[nurse]"), (r"midwi(?:fe|ves)", "[midwife]"), (r"solicitors?|lawyers?|barristers?", "[solicitor]"),
    (r"police ?officers?|pcs?|detectives?|officers?", "[police officer]"), (r"probation officers?", "[probation officer]"),
    (r"coordinators?|co-ordinators?", "[coordinator]"), (r"managers?|boss", "[manager]"),
    (r"ex-?husbands?|ex-?wives|ex-?wife|ex-?partners?|exes|ex", "[ex-partner]"),
    (r"husbands?", "[husband]"), (r"wives|wife", "[wife]"), (r"partners?", "[partner]"),
    (r"boyfriends?|fella", "[boyfriend]"), (r"girlfriends?", "[girlfriend]"),
    (r"mum|mam|mother|mummy|mom", "[mother]"), (r"dad|father|daddy", "[father]"),
    (r"brothers?", "[brother]"), (r"sisters?", "[sister]"),
    (r"nan|nana|nanna|gran|granny|grandma|grandmother", "[grandmother]"),
    (r"grandad|granddad|grandpa|grandfather", "[grandfather]"),
    (r"aunt|auntie|aunty", "[aunt]"), (r"uncles?", "[uncle]"), (r"cousins?", "[cousin]"),
    (r"best friends?|friends?|mates?", "[friend]"), (r"neighbours?", "[neighbour]"),
]
_RELATION = "|".join(f"(?:{words})" for words, _ in RELATIONS)
_OWNER = r"(?:my|our|her|his|their|your|the|a|me|one of (?:my|our|her|his|their) |\w+['’]s)"
_ADJECTIVES = r"(?:(?:little|eldest|oldest|youngest|middle|older|younger|big|baby|new|old|own|lovely|current|" \
              r"first|second|other|only|twin|teenage|best)\s+)*"
# "my son Kyle", "her little boy, Jayden", "our key worker Sarah" (relation right before the name)
BEFORE_RELATION = re.compile(rf"\b{_OWNER}\s*{_ADJECTIVES}({_RELATION})\s*[,:(–-]?\s*$", re.IGNORECASE)
# "key worker Sarah" (a role needs no owner)
BEFORE_ROLE = re.compile(r"\b(key ?worker|social worker|support worker|family worker|youth worker|case ?worker|"
                         r"health visitor|head ?teacher|teacher|counsellor|therapist|midwife|solicitor|"
                         r"police officer|probation officer|coordinator|manager)\s*[,:]?\s*$", re.IGNORECASE)
# "Kyle, my son", "Sarah (our key worker)", "Sarah the key worker", "Kyle, who's my eldest"
AFTER_RELATION = re.compile(rf"^\s*[,(–-]?\s*(?:(?:who's|who is|who was|he's|she's|is|was|being)\s+)?"
                            rf"{_OWNER}\s*{_ADJECTIVES}({_RELATION})\b(?!['’]s)", re.IGNORECASE)
# a child: "Kyle's teacher", "Kyle, he's nine", "Kyle started school"
CHILD_AFTER = re.compile(r"^(?:['’]s\s+(?:teacher|school|class|classroom|nursery|homework|bedroom|cot|buggy|"
                         r"dad|father|mum|mother|birthday|football|swimming|friends?|year)\b"
                         r"|\s*,?\s*(?:he|she)['’]s\s+(?:only\s+|just\s+|nearly\s+|now\s+)?"
                         r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                         r"fourteen|fifteen|sixteen|seventeen)\b"
                         r"|\s+(?:started|starts|goes to|went to|is at|was at)\s+(?:school|nursery|reception|year)\b)",
                         re.IGNORECASE)
# where someone lives: "lives in Kendal", "we moved to Barrow", "grew up in", "from Carlisle"
PLACE_BEFORE = re.compile(r"\b(?:lives?|lived|living|moved|move|moving|grew up|born|brought up|raised|based|"
                          r"settled|stay(?:s|ed|ing)?|housed|rehoused|relocated|went back|back|flat|house|home)"
                          r"\s+(?:(?:over|down|up|out)\s+)?(?:in|to|at|from|near|round|in to|into)\s+(?:the\s+)?$"
                          r"|\b(?:from|near|outside|in|into|to|round|around)\s+$", re.IGNORECASE)
PLACE_AFTER = re.compile(r"^\s*,?\s*(?:town|city|village|area|way)\b|^\s+(?:town centre|city centre)\b", re.IGNORECASE)
PLACE_STRONG = re.compile(r"\b(?:lives?|lived|living|moved|move|moving|grew up|born|brought up|raised|based|"
                          r"settled|housed|rehoused|relocated)\s+(?:(?:over|down|up|out)\s+)?(?:in|to|at|from|near|"
                          r"into)\s+(?:the\s+)?$", re.IGNORECASE)
SCHOOL_BEFORE = re.compile(r"\b(?:the|her|his|their|my|our|new|old|primary|secondary|high)\s+"
                           r"(?:new\s+|old\s+|primary\s+|secondary\s+|high\s+)?school\s*(?:,|:|is|was|called)?\s*$",
                           re.IGNORECASE)
SCHOOL_AFTER = re.compile(r"^\s*,?\s*(?:(?:the|her|his|their|my|our)\s+)?(?:school|primary|academy|nursery|"
                          r"juniors|infants)\b", re.IGNORECASE)
BIRTH_BEFORE = re.compile(r"\b(?:born|birthday|date of birth|dob|d\.o\.b\.?)\b[^.?!]{0,20}$", re.IGNORECASE)
STREET = re.compile(r"\b(?:Road|Street|Lane|Avenue|Close|Drive|Way|Crescent|Court|Gardens|Terrace|Place|Grove|Row|"
                    r"Square|Walk|Rise|View|Mews)$")
ORGANISATIONS = [(re.compile(r"\b(?:Hospital|Infirmary)$"), "[hospital]"),
                 (re.compile(r"\b(?:Surgery|Practice|Medical Centre)$"), "[GP surgery]"),
                 (re.compile(r"\bCouncil$"), "[council]"), (re.compile(r"\bRefuge$"), "[refuge]"),
                 (re.compile(r"\b(?:FC|Rovers|United|Club)$"), "[club]"),
                 (re.compile(r"\b(?:Church|Mosque|Chapel|Temple|Gurdwara|Synagogue)$"), "[place of worship]"),
                 (re.compile(r"\bSolicitors$"), "[solicitors]")]


@dataclass(frozen=True)
class Suggestion:
    """A placeholder for one occurrence, the type the context reads it as, and how strongly
    the context says so: 4 the private key, 3 a relation or place said next to it, 2 the type
    or a weaker cue (a child's teacher), 1 the type alone, 0 `[name]` for lack of anything."""

    placeholder: str
    type: str
    strength: int


def split_context(context: str) -> tuple[str, str]:
    """The words before and after a finding in its `context` (`…before ⟦term⟧ after…`)."""
    if "⟦" not in context or "⟧" not in context:
        return "", ""
    before, _, rest = context.partition("⟦")
    _, _, after = rest.partition("⟧")
    return before.removeprefix("…"), after.removesuffix("…")


def relation_placeholder(words: str) -> str:
    """The placeholder of a relation word or phrase (`little boy` → `[son]`)."""
    words = " ".join(words.split()).casefold()
    for pattern, placeholder in RELATIONS:
        if re.fullmatch(pattern, words):
            return placeholder
    return "[name]"


def suggest(text: str, type_: str, before: str = "", after: str = "", known: str | None = None) -> Suggestion:
    """The placeholder for `text` found as `type_` with `before` and `after` around it (a
    finding's context), or `known` — the private key's replacement — when there is one."""
    if known:
        return Suggestion(known, type_, 4)
    if type_ == FILE_NAME:
        return _in_file_name(after)
    if type_ == "date":
        return Suggestion("[date of birth]" if BIRTH_BEFORE.search(before) else "[date]", "date", 2)
    if type_ == "school":
        word = text.split()[-1].casefold() if text.split() else ""
        return Suggestion({"nursery": "[nursery]", "college": "[college]"}.get(word, "[school]"), "school", 2)
    if type_ == "organisation":
        for pattern, placeholder in ORGANISATIONS:
            if pattern.search(text):
                return Suggestion(placeholder, "organisation", 2)
        if SCHOOL_AFTER.match(after) or SCHOOL_BEFORE.search(before):
            return Suggestion("[school]", "school", 3)
        return Suggestion("[organisation]", "organisation", 1)
    if type_ == "place":
        if text.split() and text.split()[-1] == "Estate":
            return Suggestion("[estate]", "place", 2)
        if STREET.search(text):
            return Suggestion("[street]", "place", 2)
        if SCHOOL_AFTER.match(after) or SCHOOL_BEFORE.search(before):
            return Suggestion("[school]", "school", 3)
        if PLACE_BEFORE.search(before) or PLACE_AFTER.match(after):
            return Suggestion("[town]", "place", 3)
        return Suggestion("[place]", "place", 1)
    if type_ != "name":
        return Suggestion(TYPE_PLACEHOLDERS.get(type_, "[redacted]"), type_, 1)
    # a name: what is said next to it
    if m := BEFORE_RELATION.search(before) or BEFORE_ROLE.search(before):
        return Suggestion(relation_placeholder(m.group(1)), "name", 3)
    if m := AFTER_RELATION.match(after):
        return Suggestion(relation_placeholder(m.group(1)), "name", 3)
    if SCHOOL_BEFORE.search(before) or SCHOOL_AFTER.match(after):
        return Suggestion("[school]", "school", 3)
    if PLACE_STRONG.search(before) or PLACE_AFTER.match(after):
        return Suggestion("[town]", "place", 3)
    if CHILD_AFTER.match(after):
        return Suggestion("[child]", "name", 2)
    return Suggestion("[name]", "name", 0)


def _in_file_name(after: str) -> Suggestion:
    """A name in a title or file name: a relation word right after it
    (`Kirsten_Vandermolen_mum_interview`) says whose name it is."""
    words = [w for _, _, w in title_words(after)]
    for n in (2, 1):
        if len(words) >= n:
            placeholder = relation_placeholder(" ".join(words[:n]))
            if placeholder != "[name]":
                return Suggestion(placeholder, FILE_NAME, 3)
    return Suggestion("[name]", FILE_NAME, 0)


def spoken(finding: Any) -> str:
    """A finding's text as it would be said: a name in a file name with its separators as spaces."""
    if finding.type == FILE_NAME:
        return " ".join(w for _, _, w in title_words(finding.text)) or finding.text
    return finding.text


def suggest_for(finding: Any, key: Any = None) -> Suggestion:
    """The suggestion for one finding (anything with `text`, `type` and `context`, such as
    `scan.ScanFinding`); `key` is the private key (`lookup(real)` → replacement or None)."""
    text = spoken(finding)
    before, after = split_context(getattr(finding, "context", "") or "")
    return suggest(text, finding.type, before, after, key.lookup(text) if key is not None else None)


@dataclass(frozen=True)
class TermGroup:
    """One distinct term of a review: every occurrence the check reported, what it reads as
    and the suggested placeholder. `speaker_turns` counts occurrences that are a speaker label
    the participant key does not know."""

    term: str  # normalise_term() of the spoken text
    text: str  # as first written (spoken form for a file name)
    type: str
    placeholder: str
    occurrences: tuple  # the findings, titles and file names first, then in text order
    speaker_turns: int = 0

    @property
    def count(self) -> int:
        return len(self.occurrences)

    @property
    def confidence(self) -> float:
        return max(f.confidence for f in self.occurrences)

    @property
    def is_speaker(self) -> bool:
        return self.speaker_turns > 0

    @property
    def in_names(self) -> int:
        """Occurrences in the transcript's title or original file name (replacing renames it)."""
        return sum(1 for f in self.occurrences if getattr(f, "where", "text") != "text")

    @property
    def transcripts(self) -> list[str]:
        return sorted({f.transcript for f in self.occurrences if hasattr(f, "transcript")})


def is_speaker_label(finding: Any) -> bool:
    return getattr(finding, "rule", "") == SPEAKER_RULE


def _order(finding: Any) -> tuple:
    where = getattr(finding, "where", "text")
    return (getattr(finding, "transcript", ""), where == "text", finding.start)


def group_findings(findings: Iterable[Any], key: Any = None) -> list[TermGroup]:
    """One row per distinct term: occurrences grouped by `normalise_term` of their spoken text,
    rows ordered by their first occurrence (names in titles and file names first). The row's
    placeholder is the strongest suggestion among its occurrences (the most frequent of
    those, then the first); its type is what that suggestion reads it as."""
    grouped: dict[str, list] = {}
    for f in sorted(findings, key=_order):
        grouped.setdefault(normalise_term(spoken(f)), []).append(f)
    rows = []
    for term, found in grouped.items():
        suggestions = [suggest_for(f, key) for f in found]
        best = max(s.strength for s in suggestions)
        strongest = [s for s in suggestions if s.strength == best]
        counts = Counter(s.placeholder for s in strongest)
        top = max(counts.values())
        chosen = next(s for s in strongest if counts[s.placeholder] == top)
        in_text = [f for f in found if getattr(f, "where", "text") == "text"]
        shown = spoken((in_text or found)[0])
        types = Counter(f.type for f in (in_text or found))
        type_ = chosen.type if chosen.strength >= 2 and chosen.type != FILE_NAME else types.most_common(1)[0][0]
        rows.append(TermGroup(term, shown, type_, chosen.placeholder, tuple(found),
                              sum(1 for f in found if is_speaker_label(f))))
    return rows


@dataclass(frozen=True)
class TermDecision:
    """A lead's decision on a whole row: `replace` (with `placeholder`), `ignore` or `allow`
    (both with a reason)."""

    group: TermGroup
    action: str
    placeholder: str = ""
    reason: str = ""


def decisions_for(decision: TermDecision) -> list[tuple[Any, str, str, str]]:
    """The per-finding decisions one row's decision stands for, as (finding, action,
    placeholder, reason): every occurrence replaced or ignored; a term allowed once."""
    occurrences = decision.group.occurrences
    if decision.action == "allow":
        occurrences = occurrences[:1]
    return [(f, decision.action, decision.placeholder.strip(), decision.reason.strip()) for f in occurrences]


def turn_at(turns: Iterable[Any], offset: int) -> Any | None:
    """The turn (anything with `start` and `end`) holding `offset`, or None."""
    for turn in turns:
        if turn.start <= offset < turn.end:
            return turn
    return None


def occurrence_rows(group: TermGroup, turns: Iterable[Any] = ()) -> list[dict]:
    """Each occurrence of a row as a reader sees it: where (title, file name, or turn N with
    its time) and its context."""
    turns = list(turns)
    out = []
    for f in group.occurrences:
        where = getattr(f, "where", "text")
        if where == "title":
            place = "title"
        elif where == "file":
            place = "original file name"
        else:
            turn = turn_at(turns, f.start)
            place = "" if turn is None else ", ".join(
                [f"turn {turn.index + 1}"] + ([clock(turn.time_start)] if getattr(turn, "time_start", None) is not None
                                              else []))
            if is_speaker_label(f):
                place = f"{place} (speaker label)" if place else "speaker label"
        out.append({"where": place, "context": f.context})
    return out
