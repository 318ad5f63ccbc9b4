"""Residual identifiers in "anonymised" talk (pure: text in, findings out).

Finds what slips through anonymisation — names, places, schools, organisations, specific dates,
phone numbers, e-mail addresses, UK postcodes, URLs — by combining:
- patterns for e-mails, URLs, UK phone numbers (also split across a line), postcodes, specific
  dates, titles with surnames (`Mrs Patel`), schools (`St Mary's Primary`), streets and estates,
  organisations (`Greenway Motors`, `Kingsmere Rovers FC`);
- spaCy's named entities (PERSON, GPE, LOC, FAC, ORG, DATE where specific) and proper-noun tags;
- a list of common given names (`data/first_names.txt`); names that are also words (Hope, Will,
  Grace) count only where they read as names;
- the study's own terms: real names from the private key, and every name already found
  anywhere in the study (so `Jayden` once makes `jayden` elsewhere a finding too) — each word of
  a multi-word name that is a name on its own too (`Kirsten Baker` makes a bare `Kirsten` one);
- a transcript's title and original file name (`Kirsten_Vandermolen_mum_interview.txt`): known
  terms, listed given names and capitalised words that are not English words (`scan_title`).
Not findings: the participant key's pseudonyms and speaker labels, bracketed redactions such as
`[support worker]`, anonymised service labels (`Service 4`, `LA01`, `KW02`) and allow-listed
terms. Every finding has a type, a confidence (how sure the rule that found it is) and the rule.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import regex

TYPES = ("name", "place", "school", "organisation", "phone", "email", "postcode", "url", "date")
# A name in a transcript's title or original file name: replacing it renames the transcript.
FILE_NAME = "file name"


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    text: str
    type: str
    confidence: float
    rule: str


@dataclass
class Terms:
    """What the study knows: pseudonyms and labels (never findings), allow-listed terms, and
    real names (private key entries and names already found), each with its type."""

    pseudonyms: set[str] = field(default_factory=set)
    allowed: set[str] = field(default_factory=set)
    known: dict[str, str] = field(default_factory=dict)  # normalise_term() key -> type
    # lower-case English words (the trained pipeline's lemma tables); empty when unknown
    vocabulary: frozenset[str] = frozenset()

    def excluded(self, text: str) -> bool:
        key = normalise_term(text)
        labels_only = not re.sub(r"\b(?:and|or)\b|[,&/]", " ", ANONYMISED.sub(" ", text)).strip()
        return key in self.pseudonyms or key in self.allowed or labels_only


def normalise_term(text: str) -> str:
    """How terms are compared everywhere (key, allow-list, known names): Unicode NFC (as the
    canonical text), case (full case folding: `Weiß` → `weiss`) and spacing ignored, a
    possessive 's dropped. Accents count: `zoë` and `zoe` are different terms."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())  # Unicode's caseless match
    return " ".join(folded.split()).removesuffix("'s").removesuffix("’s")


@lru_cache(maxsize=8192)
def term_pattern(term: str) -> regex.Pattern:
    """Whole-word occurrences of `term` in any case, any whitespace (a line break too) between
    its words. Cases are compared by full case folding, as `normalise_term` keys are made, so
    the key `weiss` finds `Weiß` and `WEISS`."""
    words = unicodedata.normalize("NFC", term).split()
    return regex.compile(r"(?<![\w'’])" + r"\s+".join(regex.escape(w) for w in words) + r"(?!\w)",
                         regex.IGNORECASE | regex.FULLCASE)


@lru_cache(maxsize=None)
def _wordlist(name: str) -> frozenset[str]:
    text = resources.files("workbench").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


def first_names() -> frozenset[str]:
    return _wordlist("first_names.txt")


def word_names() -> frozenset[str]:
    return _wordlist("common_word_names.txt")


def list_key(word: str) -> str:
    """How a word is looked up in the name lists: casefolded with its accents dropped (NFKD,
    combining marks removed), on both sides, so `Zoë`, `ZOË` and `Zoe` all find `zoe` and
    `José` finds `jose`. The lists are of spellings without accents, and a listed name only
    raises a finding, so being generous here costs little; the study's own terms (`Terms`)
    keep their accents."""
    if word.isascii():
        return word.lower()  # most words: nothing to decompose
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


@lru_cache(maxsize=None)
def _list_keys(name: str) -> frozenset[str]:
    return frozenset(list_key(w) for w in _wordlist(name))


def is_given_name(word: str) -> bool:
    """Is `word` in the list of common given names (any case, any accents)?"""
    return list_key(word) in _list_keys("first_names.txt")


def is_word_name(word: str) -> bool:
    """Is `word` a name that is also an English word (Hope, Will, Grace)?"""
    return list_key(word) in _list_keys("common_word_names.txt")


UPPER = r"[\p{Lu}\p{Lt}]"  # (for `regex`) a capital of any script: Özdemir, Łódź, Élodie
CAP = rf"(?:{UPPER}[\w'’&-]*|St\.?|of|the|C of E|and|&)"
MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
GAP = r"[ \t]*\n?[ \t]*"  # within a line, or across one line break
PATTERNS: list[tuple[str, str, float, re.Pattern | regex.Pattern]] = [
    ("email", "e-mail pattern", 0.99, re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)),
    ("url", "URL pattern", 0.95, re.compile(
        r"(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)]|\b[\w-]+\.(?:com|org|net|co\.uk|org\.uk|gov\.uk|ac\.uk|uk|io)"
        r"/[^\s<>\"]*[^\s<>\".,;:!?)]", re.I)),
    ("phone", "phone pattern", 0.95, re.compile(
        r"(?<![\w+])(?:\+44[ \t]?\(?0?\)?[ \t-]?|\(?0)\d{2,4}\)?(?:[ \t-]*\n?[ \t-]*\d){6,8}(?!\d)")),
    ("postcode", "postcode pattern", 0.9, re.compile(
        r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)[ \t]*\d[A-Z]{2}\b", re.I)),
    ("date", "date pattern", 0.85, re.compile(
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:{GAP}of)?{GAP}(?:{MONTHS})\b(?:,?{GAP}\d{{4}})?"
        rf"|\b(?:{MONTHS}){GAP}\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?{GAP}\d{{4}})?"
        rf"|\b(?:{MONTHS}){GAP}\d{{4}}\b"
        r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b")),
    ("name", "title and surname", 0.9, regex.compile(
        r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?" + GAP + rf"{UPPER}[\w'’-]+(?:" + GAP + rf"{UPPER}[\w'’-]+)?")),
    ("school", "school name", 0.9, regex.compile(
        rf"\b(?:{CAP}{GAP})*?{UPPER}[\w'’-]*{GAP}(?:{CAP}{GAP})*?"
        r"(?:Primary|Junior|Juniors|Infant|Infants|Academy|College|High|Secondary|Grammar|Nursery|School)"
        r"(?:" + GAP + r"(?:School|Academy))?\b")),
    ("place", "street or estate", 0.8, regex.compile(
        rf"\b(?:{UPPER}[\w'’-]*{GAP})+"
        r"(?:Road|Street|Lane|Avenue|Close|Drive|Way|Crescent|Estate|Park|Bank|Green|Hill|Court|Gardens|"
        r"Terrace|Place|Grove|Row|Square|Walk|Rise|View|Mews|Business Park)\b")),
    ("organisation", "organisation name", 0.75, regex.compile(
        rf"\b(?:{UPPER}[\w'’-]*{GAP}(?:&{GAP})?)+"
        r"(?:Ltd|Limited|FC|Rovers|United|City|Motors|Bakery|Solicitors|Refuge|Trust|Council|Centre|Center|"
        r"Housing|Logistics|Group|Church|Mosque|Surgery|Practice|Hospital|Pharmacy|House|Aid|Club|Foundation|"
        r"Partnership|Association)\b")),
]
# Words that look like school/organisation names but are generic here.
GENERIC_START = re.compile(r"^(?:The|A|An|My|Our|His|Her|Their|This|That|Every|Each|High|Primary|School|"
                           r"Secondary|Junior|College|Youth|Family|Women's|Children's)\b")
ANONYMISED = re.compile(r"(?:Service|Site|Area|LA|School|Group)\s*\d+|[A-Z]{2,4}\d{1,3}(?:\s+[A-Z]{2,4}\d{1,3})?",
                        re.I)
NOT_NAMES = {"i", "mum", "mam", "mummy", "dad", "daddy", "nan", "nana", "grandad", "grandma", "god", "interviewer",
             "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "christmas", "easter",
             "english", "british", "facebook", "whatsapp", "google", "tiktok", "snapchat", "facetime", "instagram",
             "zoom", "teams", "marac", "nhs", "camhs", "ofsted", "covid", "freedom", "sim", "ok", "okay", "yeah",
             "erm", "um", "mm", "oh", "no", "yes", "so", "and", "but", "sorry", "right", "well", "like",
             "miss", "sir", "mrs", "mr", "ms", "dr", "service", "nah", "aye", "hiya", "bless", "lol",
             "year", "mondays", "tuesdays", "wednesdays", "thursdays", "fridays", "saturdays", "sundays", "crèche", "creche"} | {m.lower() for m in MONTHS.split("|")}
ENTITY_TYPES = {"PERSON": ("name", 0.7), "GPE": ("place", 0.75), "LOC": ("place", 0.7), "FAC": ("place", 0.6),
                "ORG": ("organisation", 0.6), "DATE": ("date", 0.7)}
VAGUE_DATE = re.compile(r"^(?:the\s+)?(?:summer|winter|spring|autumn|christmas|easter|last|next|this|every|"
                        r"weeks?|months?|years?|days?|\d+\s+(?:weeks?|months?|years?|days?))", re.I)


def inside_brackets(text: str, start: int, end: int) -> bool:
    """Is `[start, end)` inside a bracketed redaction such as `[Kyle's school]`?"""
    left = text.rfind("[", 0, start)
    return left != -1 and text.find("]", left) >= end - 1 and "\n" not in text[left:start]


def scan_text(text: str, talk: list[tuple[int, int]], terms: Terms, doc=None) -> list[Finding]:
    """Findings in the `talk` spans of `text` (speaker labels are never scanned). `doc` is the
    tagged analysis of each talk span (a list of `nlp.tagged` views, one per span) when a
    trained pipeline is available; without it only patterns, the name list and the study's
    terms apply.

    Patterns and the study's terms are matched over runs of talk joined across line breaks
    (a phone number or a school's name wrapped onto the next line is still one identifier);
    a speaker label between two spans keeps them apart."""
    candidates: list[Finding] = []
    for a, b in joined_runs(text, talk):
        piece = text[a:b]
        for kind, rule, confidence, pattern in PATTERNS:
            for m in pattern.finditer(piece):
                found = m.group(0)
                if kind in ("school", "organisation", "place"):
                    found = _trim_generic(found)
                    if not found:
                        continue
                    offset = m.end() - len(found)
                else:
                    offset = m.start()
                candidates.append(Finding(a + offset, a + offset + len(found), found, kind, confidence, rule))
        candidates += _known_terms(piece, a, terms, doc is not None)
    for k, (a, b) in enumerate(talk):
        if doc is not None:
            candidates += _from_doc(doc[k], a, terms)
        else:
            candidates += _from_words(text[a:b], a)
    return _resolve(text, candidates, terms)


def joined_runs(text: str, talk: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Consecutive talk spans with only white space between them, joined into one run."""
    runs: list[list[int]] = []
    for a, b in talk:
        if runs and runs[-1][1] <= a and not text[runs[-1][1]:a].strip():
            runs[-1][1] = b
        else:
            runs.append([a, b])
    return [(a, b) for a, b in runs]


def _trim_generic(found: str) -> str:
    """`found` without leading generic words ("The", "My", ...): a tail of it as written (its
    words may be apart by any whitespace, a line break too), or "" if no name is left."""
    starts = [m.start() for m in re.finditer(r"\S+", found)]
    words = found.split()
    first = 0
    while first < len(words) - 1 and GENERIC_START.match(words[first]) and not words[first].startswith("St"):
        if words[first] in ("High", "Primary", "School", "Junior", "Secondary", "College"):
            break
        first += 1
    trimmed = found[starts[first]:] if words else ""
    return "" if len(words) - first < 2 or GENERIC_START.fullmatch(trimmed) else trimmed


def _name_like(word: str, sentence_start: bool, propn: bool, known: bool = False, noun: bool = False,
               alone: bool = False) -> float:
    """Confidence that a single word is a given name, from the name list, how it is written,
    its part of speech, whether the study already knows it as a name, and whether it is a
    sentence on its own ("Con.")."""
    key = word.casefold()
    if key in NOT_NAMES or not word[:1].isalpha():
        return 0.0
    if alone and is_given_name(word):
        sentence_start = False
    if is_word_name(word):
        if not word[:1].isupper():
            return 0.0
        if not sentence_start:
            return 0.8 if known else 0.6
        # "Hope that makes sense" is a verb; "Faith ended up with me" a noun the study knows as a name
        return 0.65 if known and (propn or noun) else 0.55 if propn else 0.0
    if is_given_name(word):
        return 0.75 if word[:1].isupper() else 0.55
    if propn and word[:1].isupper() and not sentence_start and not word.rstrip("s").isupper():
        return 0.45  # an unknown proper noun inside a sentence: perhaps a name (not an acronym)
    return 0.0


def _from_words(piece: str, offset: int) -> list[Finding]:
    out = []
    for m in re.finditer(r"[^\W\d_][\w'’-]*", piece):  # words from their first letter, of any script
        word = m.group(0).removesuffix("'s").removesuffix("’s")
        before = piece[:m.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?\"“"
        confidence = _name_like(word, sentence_start, propn=False)
        if confidence:
            out.append(Finding(offset + m.start(), offset + m.start() + len(word), word, "name", confidence,
                               "name list"))
    return out


def _from_doc(doc, offset: int, terms: Terms) -> list[Finding]:
    out = []
    for ent in doc.ents:
        if ent.label_ not in ENTITY_TYPES:
            continue
        kind, confidence = ENTITY_TYPES[ent.label_]
        span = ent.text
        if kind == "date" and (not re.search(r"\d", span) or VAGUE_DATE.match(span)
                               or not re.search(rf"\b(?:{MONTHS})\b|\d{{1,2}}[/.]\d", span)):
            continue  # a month alone, "three weeks", "last year": not specific
        start = ent.start_char
        for prefix in ("the ", "The "):
            if span.startswith(prefix):
                span, start = span[len(prefix):], start + len(prefix)
        span = span.removesuffix("'s").removesuffix("’s").rstrip(".,;:!?")
        words = span.split()
        if not words or span.islower() or (len(words) == 1 and (
                span.casefold() in NOT_NAMES or (span.isupper() and len(span) <= 4))):
            continue  # "ref", "GP", "SIM": not identifiers
        if kind == "name" and len(words) == 1 and not is_given_name(span):
            confidence = 0.6  # one unknown word the model calls a person: show it, do not spread it
        elif kind != "name" and len(words) == 1 and is_given_name(span):
            confidence = 0.5  # a given name the model mistook for a place or body: the name rule decides
        out.append(Finding(offset + start, offset + start + len(span), span, kind, confidence, f"entity {ent.label_}"))
    for token in doc:
        word = token.text
        if token.ent_type_ == "PERSON" or not word[:1].isalpha():
            continue
        confidence = _name_like(word, token.is_sent_start, token.pos_ == "PROPN",
                                word.casefold() in terms.known, token.pos_ == "NOUN", token.alone)
        if confidence:
            out.append(Finding(offset + token.idx, offset + token.idx + len(word), word, "name", confidence,
                               "name list" if is_given_name(word) else "proper noun"))
    return out


def _known_terms(piece: str, offset: int, terms: Terms, tagged: bool) -> list[Finding]:
    """Occurrences of terms the study knows. One-word names that are also words are left to
    the tagged pass when there is one (it can tell "Hope said" from "Hope that helps")."""
    out = []
    for term, kind in terms.known.items():
        if tagged and is_word_name(term):
            continue
        for m in term_pattern(term).finditer(piece):
            found = m.group(0)
            if is_word_name(term) and not found[:1].isupper():
                continue
            out.append(Finding(offset + m.start(), offset + m.end(), found, kind, 0.8, "known in this study"))
    return out


def _resolve(text: str, candidates: list[Finding], terms: Terms) -> list[Finding]:
    """Drop what is not a finding, then keep the most certain of overlapping candidates (the
    longer on a tie)."""
    kept: list[Finding] = []
    for f in sorted(candidates, key=lambda f: (-f.confidence, -(f.end - f.start), f.start)):
        if not f.text.strip() or terms.excluded(f.text) or inside_brackets(text, f.start, f.end):
            continue
        if f.type == "name" and all(normalise_term(w) in terms.pseudonyms or w.casefold() in NOT_NAMES
                                    for w in f.text.split()):
            continue
        if any(f.start < k.end and k.start < f.end for k in kept):
            continue
        kept.append(f)
    return sorted(kept, key=lambda f: f.start)


# Words that belong to a name as written but are no name on their own: titles, forms of address,
# relations, name particles and small words.
NOT_NAME_PARTS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lady", "lord", "st", "saint",
                  "rev", "reverend", "pc", "sgt", "officer", "detective", "nurse", "doctor", "teacher", "mister",
                  "missus", "auntie", "aunty", "aunt", "uncle", "nanny", "granny", "grandpa", "grandad", "grandma",
                  "cousin", "brother", "sister", "son", "daughter", "mother", "father", "baby", "little", "big",
                  "young", "old", "the", "a", "an", "and", "of", "my", "her", "his", "their", "our", "your", "to",
                  "in", "on", "at", "for", "with", "from", "by", "de", "da", "di", "del", "della", "van", "von",
                  "der", "den", "la", "le", "du", "bin", "bint", "ibn", "al", "el", "ben", "jr", "sr", "junior",
                  "senior"}
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def common_word(word: str, vocabulary: frozenset[str]) -> bool:
    """Is `word` (or a regular inflection of it: girls, called, going) an English word in
    `vocabulary`? False when the vocabulary is empty (no trained pipeline)."""
    key = word.casefold()
    if not vocabulary:
        return False
    forms = {key}
    for suffix, stem in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
                         ("ly", "")):
        if key.endswith(suffix) and len(key) - len(suffix) >= 3:
            forms.add(key[:-len(suffix)] + stem)
    return any(form in vocabulary for form in forms)


def name_parts(name: str, vocabulary: frozenset[str] = frozenset(), as_written: bool = True) -> list[str]:
    """The words of a multi-word person's name that are names on their own (casefolded):
    `Kirsten Baker` → kirsten (baker is an English word), `Mrs Patel` → patel. A part must be
    written capitalised (unless `as_written` is False: the private key's names, as a lead typed
    them), be letters, and be neither a title, relation or small word nor an English word —
    unless it is a listed given name (`Grace`, `Daniel`). A one-word name has no parts."""
    words = [w.strip(".,;:!?\"“”()").removesuffix("'s").removesuffix("’s") for w in name.split()]
    if len(words) < 2:
        return []
    out = []
    for word in words:
        key = word.casefold()
        if len(word) < 2 or not WORD.fullmatch(word) or key in NOT_NAMES or key in NOT_NAME_PARTS:
            continue
        if as_written and (not word[:1].isupper() or (word.isupper() and len(word) <= 4)):
            continue  # "my son kyle baker" is not how a name is written; "KW" is an acronym
        if not is_given_name(key) and not is_word_name(key) and common_word(key, vocabulary):
            continue
        if key not in out:
            out.append(key)
    return out


def title_words(title: str) -> list[tuple[int, int, str]]:
    """The words of a title or file name with their positions: split at anything that is not a
    letter (`_`, `-`, `.`, digits, spaces) and between camel-case words (`KirstenVandermolen`),
    keeping `McDonald`, `MacKenzie` and `O'Brien` whole."""
    out = []
    for m in re.finditer(r"[^\W\d_]+(?:['’][^\W\d_]+)*", title):
        run, cuts = m.group(0), [0]
        for i in range(1, len(run)):
            if not run[i].isupper():
                continue
            lower_before = run[i - 1].islower() and run[cuts[-1]:i] not in ("Mc", "Mac")
            acronym_before = run[i - 1].isupper() and i + 1 < len(run) and run[i + 1].islower()  # "KWInterview"
            if lower_before or acronym_before:
                cuts.append(i)
        cuts.append(len(run))
        out += [(m.start() + a, m.start() + b, run[a:b]) for a, b in zip(cuts, cuts[1:])]
    return out


def scan_title(title: str, terms: Terms, where: str = "title") -> list[Finding]:
    """Names in a transcript's title or file name, as findings of type `file name` with
    positions in `title`: the study's known terms (also across words: `Ashgrove_Primary`),
    listed given names, and capitalised words that are no English word (when the vocabulary is
    known). Pseudonyms, allow-listed terms, titles such as `Mum` and bracketed placeholders are
    not findings. Neighbouring name words are one finding (`Kirsten_Vandermolen`)."""
    words = title_words(title)
    marks: list[tuple[float, str] | None] = [None] * len(words)
    excluded = [False] * len(words)
    for n in (4, 3, 2):  # terms of several words first
        for i in range(len(words) - n + 1):
            gram = " ".join(w.casefold() for _, _, w in words[i:i + n])
            if gram in terms.pseudonyms or gram in terms.allowed:
                excluded[i:i + n] = [True] * n
            elif gram in terms.known and not any(excluded[i:i + n]):
                marks[i:i + n] = [(0.8, "known in this study")] * n
    for i, (start, end, word) in enumerate(words):
        key = word.casefold()
        if (excluded[i] or marks[i] or key in terms.pseudonyms or key in terms.allowed or key in NOT_NAMES
                or key in NOT_NAME_PARTS or len(word) < 2 or inside_brackets(title, start, end)):
            continue
        capitalised = word[:1].isupper()
        if is_word_name(word) and not capitalised:
            continue  # "will", "hope": words
        if key in terms.known:
            marks[i] = (0.8, "known in this study")
        elif is_given_name(word):
            marks[i] = (0.75, "name list")
        elif (terms.vocabulary and capitalised and not word.isupper() and len(word) >= 3
              and not common_word(word, terms.vocabulary)):
            marks[i] = (0.5, "capitalised word that is no English word")
    out: list[Finding] = []
    i = 0
    while i < len(words):
        if marks[i] is None:
            i += 1
            continue
        j = i
        while j + 1 < len(words) and marks[j + 1] is not None:
            j += 1
        confidence, rule = max(marks[i:j + 1])
        start, end = words[i][0], words[j][1]
        out.append(Finding(start, end, title[start:end], FILE_NAME, confidence, f"{rule}, in the {where}"))
        i = j + 1
    return out


def context(text: str, start: int, end: int, width: int = 50) -> str:
    """The finding with `width` characters each side, on one line, the finding in ⟦ ⟧."""
    left = " ".join(text[max(0, start - width):start].split())
    right = " ".join(text[end:end + width].split())
    before = " " if start and text[start - 1].isspace() else ""
    after = " " if text[end:end + 1].isspace() else ""
    return f"…{left}{before}⟦{' '.join(text[start:end].split())}⟧{after}{right}…"
