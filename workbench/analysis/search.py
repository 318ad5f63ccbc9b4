r"""Corpus search: lemma (default: "ring" finds "rang", "ringing"), exact phrase, or regular
expression, over participants' talk, with filters by participant attributes, speaker,
transcript and code; results as keyword-in-context lines with counts by participant and
attribute, and as passages: the hits in one sentence merged into one result that names its
place (transcript, turn, time) and offers the spans a hit can be coded with (`coding_spans`:
the sentence, the whole turn's talk or the exact match).

Lemma search reads the lemma index written at import (`tokens`), so it stays fast on a large
corpus; phrase and regular-expression search scan the canonical texts. Matching ignores case.
Interviewer turns are left out unless asked for; speaker labels are never searched.

Any signed-in user may search, a viewer included, so a search must not be able to freeze the
app. Python's `re` backtracks without limit (`(.+)+court` over one transcript runs for hours,
holding the GIL: the Streamlit server stops answering everyone and ignores SIGTERM). Patterns
are therefore matched with the `regex` package (mrab), chosen over `google-re2`:

- `regex` keeps Python's syntax and Unicode semantics (`\w`, `\b` on "Siobhán", lookbehind such
  as `(?<!not )believed`, which the phrase mode uses too), so ordinary patterns give the same hits
  as `re` did; it stops a match after a `timeout`, and `concurrent=True` releases the GIL while
  matching, so other sessions (other threads) keep running.
- `google-re2` matches in linear time but has no timeout: linear is not bounded on a large
  corpus (`[\s\S]{0,1000}court` took 11.8 s over 5 million characters, measured); it has no
  lookaround or backreferences, ASCII-only `\w` and `\b`, and refuses repeats over 1,000.

`regex` has one cost `re` lacks: it expands counted repeats when compiling (`(?:a{10000}){10000}`
took 5 s and 2.8 GB before a MemoryError, outside any timeout), so a pattern whose counted
repeats would expand to more than `MAX_EXPANSION` elements is refused before compiling. Its
timeout is per call and fires up to twice late (measured: 0.3 s asked, 0.6 s taken), so a
phrase or pattern search finds one match at a time against a single deadline, `SEARCH_SECONDS`
after the search started, giving each call half the time left; past it the search is refused
with a message. Queries are capped at `MAX_QUERY` characters and lemma queries at
`MAX_LEMMA_WORDS` words (each word is one more join of the lemma index). Measured on the sample
study: `(.+)+court` and `(.*a){12}b` are refused within the 2 s (after 1.2-2.0 s); the ordinary
`\brang\b|\bring(?:s|ing)?\b` gives the same 54 hits as `re` in 0.02 s.
"""

from __future__ import annotations

import bisect
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import regex
from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased, defer

from .. import nlp
from ..access import Actor, released_filter
from ..codebook.study import CodeIndex
from ..coding.codings import visible_codings
from ..errors import ValidationError
from ..places import place
from ..store import Study
from ..store.models import Participant, Segment, Token, Transcript, Turn

MODES = ("lemma", "phrase", "regex")
MAX_QUERY = 500  # characters, in every mode
MAX_LEMMA_WORDS = 20
MAX_EXPANSION = 10_000  # elements a pattern's counted repeats may expand to when compiled
SEARCH_SECONDS = 2.0  # a phrase or pattern search is stopped this long after it started


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


@dataclass(frozen=True)
class CodingSpans:
    """What "Code this" may code for a hit, each a code-point span `[start, end)` of the
    canonical text: the sentence(s) holding the hit, the turn's talk and the hit itself."""

    sentence: tuple[int, int]
    turn: tuple[int, int]
    exact: tuple[int, int]


def coding_spans(talk: tuple[int, int], sentences: Sequence[tuple[int, int]], start: int, end: int) -> CodingSpans:
    """The spans a hit `[start, end)` can be coded with (pure).

    `talk` is the turn's talk, `[text_start, end)` of the turn: it leaves out the speaker label.
    `sentences` are the turn's sentences (its segments) in text order. The sentence span runs
    from the start of the first sentence the hit overlaps to the end of the last, so a hit
    across a sentence boundary takes both sentences; it is widened to the hit where the hit
    reaches outside them (text the sentencizer left between sentences, e.g. an opening
    bracket), and is the hit itself if no sentence overlaps it."""
    if not talk[0] <= start < end <= talk[1]:
        raise ValidationError(f"the hit {start}–{end} is not inside the turn's talk {talk[0]}–{talk[1]}")
    overlapping = [(a, b) for a, b in sentences if a < end and start < b]
    sentence = ((min(start, overlapping[0][0]), max(end, overlapping[-1][1])) if overlapping else (start, end))
    return CodingSpans(sentence, (talk[0], talk[1]), (start, end))


def merge_by_sentence(spans: Sequence[CodingSpans]) -> list[list[int]]:
    """The positions of `spans` (hits in one transcript) grouped into passages, in text order:
    hits whose sentence spans overlap are one passage, so a sentence with three matches is
    shown once (pure)."""
    order = sorted(range(len(spans)), key=lambda k: (spans[k].sentence, spans[k].exact))
    groups: list[list[int]] = []
    reach = -1
    for k in order:
        if groups and spans[k].sentence[0] < reach:
            groups[-1].append(k)
            reach = max(reach, spans[k].sentence[1])
        else:
            groups.append([k])
            reach = spans[k].sentence[1]
    return groups


@dataclass(frozen=True)
class CodingChoice:
    kind: str  # "sentence", "turn" or "match"
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """One result on the Search page: a sentence (or the sentences a hit runs across) with
    every hit in it, and where it was said."""

    transcript: str
    turn: int  # the turn's number in its transcript, from 1
    time: float | None  # when the turn starts in the recording, if the transcript has times
    speaker: str | None
    pseudonym: str | None
    role: str | None
    group: str | None
    start: int  # the sentence span: what "Code this" codes by default
    end: int
    sentences: int  # how many sentences [start, end) covers
    turn_start: int  # the turn's talk (no speaker label)
    turn_end: int
    turn_text: str  # the canonical text of [turn_start, turn_end)
    hits: tuple[Hit, ...]

    @property
    def place(self) -> str:
        """Where it was said, e.g. "M03_Carla, turn 37, 00:14:05" (the time where one exists)."""
        return place(self.transcript, self.turn, self.time)

    @property
    def text(self) -> str:
        return self.span_text(self.start, self.end)

    def span_text(self, start: int, end: int) -> str:
        """The canonical text of `[start, end)` inside the turn's talk."""
        return self.turn_text[start - self.turn_start:end - self.turn_start]

    @property
    def terms(self) -> list[str]:
        """The words matched, each once (case and spacing aside), in text order."""
        seen: dict[str, str] = {}
        for hit in self.hits:
            words = " ".join(hit.match.split())
            seen.setdefault(words.casefold(), words)
        return list(seen.values())

    def pieces(self) -> list[tuple[str, bool]]:
        """The sentence as (text, matched) pieces, for highlighting the matches."""
        out, position = [], self.start
        for hit in self.hits:
            if hit.end <= position:  # overlaps a hit already shown
                continue
            a = max(hit.start, position)
            if a > position:
                out.append((self.span_text(position, a), False))
            out.append((self.span_text(a, hit.end), True))
            position = hit.end
        if position < self.end:
            out.append((self.span_text(position, self.end), False))
        return out

    def choices(self) -> list[CodingChoice]:
        """What "Code this" offers, the sentence first (the default), then the whole turn,
        then each exact match."""
        out = [CodingChoice("sentence", "Sentence" if self.sentences <= 1 else f"{self.sentences} sentences",
                            self.start, self.end),
               CodingChoice("turn", "Whole turn", self.turn_start, self.turn_end)]
        for k, hit in enumerate(self.hits, start=1):
            words = " ".join(hit.match.split())
            words = words if len(words) <= 40 else words[:39] + "…"
            number = f" {k}" if len(self.hits) > 1 else ""
            out.append(CodingChoice("match", f"Exact match{number}: “{words}”", hit.start, hit.end))
        return out


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    by_participant: dict[str, int] = field(default_factory=dict)
    by_role: dict[str, dict[str, int]] = field(default_factory=dict)   # role -> hits, participants
    by_group: dict[str, dict[str, int]] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)  # the hits merged by sentence


@dataclass
class _Turn:
    start: int
    text_start: int
    end: int
    speaker: str | None
    interviewer: bool
    participant: Participant | None
    id: int = 0
    number: int = 0  # from 1
    time_start: float | None = None


def _query_lemmas(query: str) -> list[set[str]]:
    words = query.split()
    if not words:
        raise ValidationError("the search is empty")
    if len(words) > MAX_LEMMA_WORDS:
        raise ValidationError(f"the search has {len(words):,} words; a word search takes at most "
                              f"{MAX_LEMMA_WORDS}; search a longer quote as a phrase")
    (analysis,) = nlp.analyse([query])
    lemmas = [lemma for _s, _e, lemma in analysis.lemmas]
    if not lemmas:
        raise ValidationError(f"the search {query.strip()!r} has no words to match; search punctuation "
                              "and symbols as a phrase or a regular expression")
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


_QUANTIFIER = re.compile(r"\{\s*(\d*)\s*(?:,\s*\d*\s*)?\}")
# a group's opening: `(`, `(?:`, `(?P<name>`, `(?<=`, `(?i:`, ...; one ending in `)` is a whole
# group without contents: inline flags `(?i)` or a comment `(?#...)`
_GROUP = re.compile(r"\((?:\?(?:P?<\w+>|<[=!]|[\w-]*[:=!>|)]|#[^)]*\)))?")
_BRACED_ESCAPES = frozenset("pPNxuUgk")


def _expansion(pattern: str) -> int:
    """An upper bound of the elements `regex` expands `pattern` into when compiling: an atom
    counts one, a group the sum of its contents, and a counted repeat `{m}` or `{m,n}`
    multiplies what it repeats by m (the part `regex` writes out; `*`, `+`, `?` and `{0,n}` are
    not expanded). Unusual syntax can only make the estimate larger."""
    sums = [0]  # a running sum for each open group
    last = 0  # the size of the atom or group a quantifier would repeat
    i = 0
    while i < len(pattern):
        char = pattern[i]
        group = _GROUP.match(pattern, i) if char == "(" else None
        quantifier = _QUANTIFIER.match(pattern, i) if char == "{" else None
        if char == "\\":  # an escape; \p{L}, \N{...}, \x{...}, \g<name> are one atom too
            i += 2
            if pattern[i - 1:i] in _BRACED_ESCAPES and pattern[i:i + 1] in ("{", "<"):
                close = pattern.find("}" if pattern[i] == "{" else ">", i)
                i = len(pattern) if close < 0 else close + 1
            sums[-1] += 1
            last = 1
        elif char == "[":  # a set is one atom: skip to its closing bracket
            i += 1 + (pattern[i + 1:i + 2] == "^")
            i += pattern[i:i + 1] == "]"
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
            sums[-1] += 1
            last = 1
        elif group:
            if not group.group().endswith(")"):
                sums.append(0)
            last = 0
            i = group.end()
        elif char == ")":
            last = sums.pop() if len(sums) > 1 else 0
            sums[-1] += last
            i += 1
        elif quantifier:
            times = max(int(quantifier.group(1) or 0), 1)
            sums[-1] += last * (times - 1)
            last *= times
            i = quantifier.end()
        else:
            if char == "|":
                last = 0
            elif char not in "*+?":
                sums[-1] += 1
                last = 1
            i += 1
    return sum(sums)


def _pattern(query: str, mode: str) -> regex.Pattern:
    if mode == "phrase":
        words = query.split()
        if not words:
            raise ValidationError("the search is empty")
        return regex.compile(r"(?<!\w)" + r"\s+".join(map(regex.escape, words)) + r"(?!\w)",
                             regex.IGNORECASE | regex.VERSION0)
    if _expansion(query) > MAX_EXPANSION:
        raise ValidationError(f"the regular expression repeats too much: its counted repeats ({{n}}) would "
                              f"expand to more than {MAX_EXPANSION:,} elements")
    try:
        pattern = regex.compile(query, regex.IGNORECASE | regex.VERSION0)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise ValidationError(f"not a valid regular expression: {exc}") from None
    except MemoryError:
        raise ValidationError("the regular expression is too large to compile") from None
    if pattern.search("", timeout=SEARCH_SECONDS):
        raise ValidationError("the regular expression matches empty text; make it match at least one character")
    return pattern


def _matches(pattern: regex.Pattern, texts: dict[int, str], deadline: float) -> dict[int, list[tuple[int, int]]]:
    """The non-empty matches in each text, found by `deadline` (`time.monotonic()`) with the GIL
    released while matching; a search that runs out of time is refused."""
    found: dict[int, list[tuple[int, int]]] = {}
    for key, text in texts.items():
        spans, pos = [], 0
        while pos <= len(text):
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                match = pattern.search(text, pos, concurrent=True, timeout=remaining / 2)
            except TimeoutError:
                raise ValidationError(
                    f"the search took longer than {SEARCH_SECONDS:g} seconds and was stopped; "
                    "simplify the pattern (nested repeats such as (a+)+ make matching slow)") from None
            if match is None:
                break
            start, end = match.span()
            if end > start:
                spans.append((start, end))
            pos = end if end > start else end + 1
        if spans:
            found[key] = spans
    return found


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
    if len(query) > MAX_QUERY:
        raise ValidationError(f"the search is {len(query):,} characters long; at most {MAX_QUERY} are allowed")
    deadline = time.monotonic() + SEARCH_SECONDS
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
            spans = _matches(_pattern(query, mode), {i: t.text for i, t in transcripts.items()}, deadline)
        coded = _coded_spans(session, actor, filters) if filters.code else None
        people = {p.id: p for p in session.scalars(select(Participant))}
        hits: list[Hit] = []
        passages: list[Passage] = []
        for transcript_id in sorted(spans, key=lambda i: transcripts[i].title):
            transcript = transcripts[transcript_id]
            turns = [_Turn(t.start, t.text_start, t.end, t.speaker, t.is_interviewer, people.get(t.participant_id),
                           t.id, t.index + 1, t.time_start)
                     for t in session.scalars(select(Turn).where(Turn.transcript_id == transcript_id)
                                              .order_by(Turn.start))]
            starts = [t.start for t in turns]
            allowed = coded.get(transcript.title, []) if coded is not None else None
            found: list[tuple[Hit, _Turn]] = []
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
                found.append((Hit(transcript.title, start, end, turn.speaker, person.pseudonym if person else None,
                                  person.role if person else None, person.group if person else None,
                                  transcript.text[start:end], _kwic(transcript.text, turn, start, end, context)),
                              turn))
            hits += [hit for hit, _turn in found]
            if found:
                passages += _passages(session, transcript, found)
    return _with_counts(SearchResult(query, mode, hits, passages=passages))


def _passages(session: Session, transcript: Transcript, found: list[tuple[Hit, _Turn]]) -> list[Passage]:
    """The hits of one transcript merged by sentence, with their place and spans."""
    sentences: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for turn_id, start, end in session.execute(
            select(Segment.turn_id, Segment.start, Segment.end)
            .where(Segment.transcript_id == transcript.id, Segment.turn_id.in_(sorted({t.id for _h, t in found})))
            .order_by(Segment.start)):
        sentences[turn_id].append((start, end))
    spans = [coding_spans((turn.text_start, turn.end), sentences[turn.id], hit.start, hit.end) for hit, turn in found]
    out = []
    for group in merge_by_sentence(spans):
        group = sorted(group, key=lambda k: spans[k].exact)
        hit, turn = found[group[0]]
        start = min(spans[k].sentence[0] for k in group)
        end = max(spans[k].sentence[1] for k in group)
        count = sum(1 for a, b in sentences[turn.id] if a < end and start < b)
        out.append(Passage(transcript.title, turn.number, turn.time_start, hit.speaker, hit.pseudonym, hit.role,
                           hit.group, start, end, count, turn.text_start, turn.end,
                           transcript.text[turn.text_start:turn.end], tuple(found[k][0] for k in group)))
    return out


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
