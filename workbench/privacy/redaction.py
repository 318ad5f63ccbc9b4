"""Replacing identifiers with placeholders, everywhere they occur, with everything following.

The text edit itself (spans, segments, lemma index, entities, codings) is `revisions.edit_text`;
this module chooses what to replace: the chosen spans, and with `everywhere` every other
occurrence of the same real name the check (`scan`) reports, in any transcript, with the
placeholder the private key holds for it. Of overlapping choices the longest wins, so
`Kirsten Vandermolen` becomes one placeholder, never `[daughter] Vandermolen`.

A name in a transcript's title or original file name is replaced by renaming the transcript:
the title gets the placeholder, the stored file name becomes the new title with the format's
extension, and the audit trail — whose entries name transcripts by title — is rewritten to the
new names wherever an old one occurs in a value, so no entry keeps it (`rename`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, require
from ..audit import record
from ..coding.assignments import transcript_by_title
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import AllowedTerm, AuditEntry, Participant, Transcript
from ..suggest.corpus import forget_unused_embeddings
from .identifiers import inside_brackets, name_parts, normalise_term, title_words, word_names
from .private_key import PrivateKey
from .revisions import EditReport, audit_positions, edit_text, find_term, scrub_freed_text
from .scan import scan_transcripts, spoken_name, vocabulary
from .textedit import Edit

WHERE = ("text", "title", "file")  # a span of the transcript's text, title or original file name


@dataclass(frozen=True)
class Replacement:
    transcript: str
    start: int
    end: int
    placeholder: str
    where: str = "text"  # one of WHERE


@dataclass
class RedactReport:
    replaced: int = 0
    transcripts: list[EditReport] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)  # the new titles of renamed transcripts
    # words of a replaced multi-word name that still occur in the study (texts, titles, file
    # names): word -> occurrences. The check reports them while the private key knows the name.
    parts_left: dict[str, int] = field(default_factory=dict)


def redact(study: Study, actor: Actor, replacements: list[Replacement], key: PrivateKey | None = None,
           everywhere: bool = True) -> RedactReport:
    """Replace identifiers with placeholders, in one transaction. With `everywhere`, every other
    occurrence the anonymisation check reports of a replaced text, in any transcript (titles and
    file names too), gets the same placeholder — and the private key makes the same real name
    keep the same placeholder across sessions. Overlapping replacements: the longest wins. The
    audit trail records placeholders and positions, never the replaced text."""
    require(actor, "review_anonymisation")
    key = key or PrivateKey()
    wanted: dict[str, str] = {}
    with study.session() as session:
        rows = {t.title: (t.text, t.source_filename, t.source_format) for t in session.scalars(select(Transcript))}
    texts = {title: row[0] for title, row in rows.items()}
    sources = {"text": texts, "title": {title: title for title in rows},
               "file": {title: row[1] for title, row in rows.items()}}
    chosen: dict[tuple[str, str, int, int], str] = {}  # (where, title, start, end) -> placeholder
    for r in replacements:
        if r.transcript not in texts:
            raise NotFound(f"no transcript titled {r.transcript!r}")
        if r.where not in WHERE:
            raise ValidationError(f"unknown place {r.where!r} (expected one of {', '.join(WHERE)})")
        source = sources[r.where][r.transcript]
        if not 0 <= r.start < r.end <= len(source):
            inside = {"text": "", "title": "'s title", "file": "'s file name"}[r.where]
            raise ValidationError(f"span {r.start}–{r.end} is outside {r.transcript!r}{inside}")
        if not r.placeholder.strip():
            raise ValidationError("a replacement needs a placeholder")
        real = source[r.start:r.end] if r.where == "text" else spoken_name(source[r.start:r.end])
        key.remember(real, r.placeholder)
        wanted[normalise_term(real)] = key.lookup(real)
        chosen[(r.where, r.transcript, r.start, r.end)] = r.placeholder.strip()
    if everywhere and wanted:
        # every whole-word occurrence of a name; for a name that is also a word (Hope, Will) only
        # the occurrences the check reads as a name, which needs its tagged pass
        plain = {term: p for term, p in wanted.items() if term not in word_names()}
        for title, text in texts.items():
            for term, placeholder in plain.items():
                for start, end in find_term(text, term):
                    if not inside_brackets(text, start, end):
                        chosen.setdefault(("text", title, start, end), placeholder)
        worded = {term: p for term, p in wanted.items() if term in word_names()}
        holding = [title for title, text in texts.items() if any(find_term(text, term) for term in worded)]
        for f in scan_transcripts(study, actor, holding, key=key) if holding else []:
            if f.where == "text" and normalise_term(f.text) in worded:
                chosen.setdefault(("text", f.transcript, f.start, f.end), worded[normalise_term(f.text)])
        for where in ("title", "file"):
            for title, name in sources[where].items():
                for term, placeholder in wanted.items():
                    for start, end in find_in_name(name, term):
                        chosen.setdefault((where, title, start, end), placeholder)
    grouped: dict[tuple[str, str], dict[tuple[int, int], str]] = {}
    for (where, title, start, end), placeholder in chosen.items():
        grouped.setdefault((where, title), {})[(start, end)] = placeholder
    edits = {place: longest_first(spans) for place, spans in grouped.items()}
    renames = _renames(rows, edits)

    report = RedactReport()
    with study.transaction() as session:
        for (where, title), text_edits in sorted(edits.items()):
            if where != "text":
                continue
            transcript = transcript_by_title(session, title)
            done = edit_text(session, transcript, text_edits)
            report.transcripts.append(done)
            report.replaced += len(text_edits)
            positions = audit_positions(text_edits)
            record(session, actor.signature, "transcript.redact", transcript=title, replacements=positions,
                   codings_moved=done.codings_moved, codings_flagged=done.codings_flagged)
        forget_unused_embeddings(session)
        for title, (new_title, new_file) in renames.items():
            report.replaced += len(edits.get(("title", title), [])) or len(edits.get(("file", title), []))
            rename(session, actor, transcript_by_title(session, title), new_title, new_file)
            report.renamed.append(new_title)
            for done in report.transcripts:
                if done.transcript == title:
                    done.transcript = new_title
        report.parts_left = _parts_left(session, wanted)
    key.save()
    scrub_freed_text(study)
    return report


def longest_first(spans: dict[tuple[int, int], str]) -> list[Edit]:
    """Non-overlapping edits from candidate spans: of overlapping ones the longest wins (on a
    tie, the earlier), so a full name is never cut into a placeholder and a left-over word."""
    kept: list[tuple[int, int, str]] = []
    for (start, end), placeholder in sorted(spans.items(), key=lambda item: (item[0][0] - item[0][1], item[0])):
        if not any(start < e and s < end for s, e, _ in kept):
            kept.append((start, end, placeholder))
    return [Edit(start, end, placeholder) for start, end, placeholder in sorted(kept)]


def find_in_name(name: str, term: str) -> list[tuple[int, int]]:
    """Occurrences of `term` (casefolded words) in a title or file name, word for word
    (`kirsten vandermolen` in `Kirsten_Vandermolen_mum_interview.txt`); a name that is also a
    word (Hope) only where it is capitalised."""
    wanted = term.split()
    words = title_words(name)
    out = []
    for i in range(len(words) - len(wanted) + 1):
        found = words[i:i + len(wanted)]
        if [w.casefold() for _, _, w in found] != wanted:
            continue
        if term in word_names() and not found[0][2][:1].isupper():
            continue
        if not inside_brackets(name, found[0][0], found[-1][1]):
            out.append((found[0][0], found[-1][1]))
    return out


def neutral_file_name(title: str, source_format: str) -> str:
    """What the stored file name becomes once the original is no longer kept: the title with
    the format's extension."""
    return f"{title}.{source_format}"


def _renames(rows: dict[str, tuple[str, str, str]],
             edits: dict[tuple[str, str], list[Edit]]) -> dict[str, tuple[str, str]]:
    """Old title -> (new title, new file name) for every transcript whose title or file name
    has a replacement. Refused (before anything is written) when two transcripts would end up
    with the same title."""
    out = {}
    for title, (_text, filename, source_format) in rows.items():
        title_edits, file_edits = edits.get(("title", title), []), edits.get(("file", title), [])
        if not title_edits and not file_edits:
            continue
        new_title = title
        for edit in reversed(title_edits):
            new_title = new_title[:edit.start] + edit.replacement + new_title[edit.end:]
        new_title = " ".join(new_title.split())
        if not new_title or len(new_title) > 200:
            raise ValidationError("a transcript's new title must have 1 to 200 characters")
        out[title] = (new_title, neutral_file_name(new_title, source_format))
    final = {title: out.get(title, (title,))[0] for title in rows}
    seen: dict[str, str] = {}
    for title, new in final.items():
        if new in seen:
            raise ValidationError(f"two transcripts would both be titled {new!r}: use another placeholder")
        seen[new] = title
    return out


def rename(session: Session, actor: Actor, transcript: Transcript, title: str, filename: str) -> int:
    """Give a transcript a new title and stored file name (inside the caller's transaction), and
    rewrite every audit entry naming the old ones — a value that is an old name, or holds one
    among other words — so the trail keeps no trace of them. Returns how many entries were
    rewritten; the rename itself is recorded under the new title."""
    require(actor, "review_anonymisation")
    old = {transcript.title: title, transcript.source_filename: filename}
    old = {was: now for was, now in old.items() if was != now}
    if not old:
        return 0
    if transcript.title != title:
        transcript.revision = (transcript.revision or 0) + 1  # caches that hold titles (suggestions) refresh
    transcript.title, transcript.source_filename = title, filename
    session.flush()
    rewritten = 0
    pattern = _names_pattern(old)
    for entry in session.scalars(select(AuditEntry)):
        detail = _renamed(entry.detail, old, pattern)
        if detail != entry.detail:
            entry.detail = detail
            rewritten += 1
    record(session, actor.signature, "transcript.rename", transcript=title, entries_rewritten=rewritten)
    session.flush()
    return rewritten


def _names_pattern(names: dict[str, str]) -> re.Pattern:
    """Whole occurrences of the old names: never inside a longer word (`Amy` is not in `Amy2` or
    `Amy_2`), the longest name first (a file name holds its title)."""
    def whole(name: str) -> str:
        before = r"(?<!\w)" if re.match(r"\w", name) else ""
        after = r"(?!\w)" if re.search(r"\w$", name) else ""
        return before + re.escape(name) + after

    longest_first = sorted(filter(None, names), key=len, reverse=True)
    return re.compile("|".join(whole(name) for name in longest_first) or "(?!)")  # (?!): no name, no match


def _renamed(value, names: dict[str, str], pattern: re.Pattern):
    """`value` (an audit entry's detail) with every occurrence of an old name in its strings
    replaced by the new one."""
    if isinstance(value, str):
        return pattern.sub(lambda m: names[m.group(0)], value)
    if isinstance(value, list):
        return [_renamed(v, names, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _renamed(v, names, pattern) for k, v in value.items()}
    return value


def _parts_left(session: Session, wanted: dict[str, str]) -> dict[str, int]:
    """Words of the replaced multi-word names still in the study, with how often they occur."""
    parts = {part for term in wanted for part in name_parts(term, vocabulary(), as_written=False)}
    parts -= set(wanted) | {normalise_term(p) for p in session.scalars(select(Participant.pseudonym))}
    parts -= set(session.scalars(select(AllowedTerm.term)))
    if not parts:
        return {}
    counts: dict[str, int] = {}
    for transcript in session.scalars(select(Transcript)):
        for part in parts:
            found = len([1 for s, e in find_term(transcript.text, part) if not inside_brackets(transcript.text, s, e)])
            found += len(find_in_name(transcript.title, part)) + len(find_in_name(transcript.source_filename, part))
            if found:
                counts[part] = counts.get(part, 0) + found
    return dict(sorted(counts.items()))


def term_replacements(study: Study, actor: Actor, terms: dict[str, str],
                      key: PrivateKey | None = None) -> tuple[list[Replacement], list[str]]:
    """Replacements for every whole-word occurrence of each term (TEXT → PLACEHOLDER) in the
    study — talk, speaker labels, bracketed notes, titles and original file names — whether or
    not the check reports it; a name that is also a word (Hope) only where the check reads it
    as a name. Returns the replacements and the terms (as given) with no occurrence."""
    require(actor, "review_anonymisation")
    wanted: dict[str, tuple[str, str]] = {}  # normalised term -> (as given, placeholder)
    for text, placeholder in terms.items():
        if not normalise_term(text) or not placeholder.strip():
            raise ValidationError(f"{text}={placeholder} is not TEXT=PLACEHOLDER")
        wanted[normalise_term(text)] = (text, placeholder.strip())
    with study.session() as session:
        rows = [(t.title, t.text, t.source_filename)
                for t in session.scalars(select(Transcript).order_by(Transcript.title))]
    out: list[Replacement] = []
    found: set[str] = set()
    worded = {term for term in wanted if term in word_names()}
    for title, text, filename in rows:
        for term, (_, placeholder) in wanted.items():
            spans = [("text", s, e) for s, e in ([] if term in worded else find_term(text, term))]
            spans += [("title", s, e) for s, e in find_in_name(title, term)]
            spans += [("file", s, e) for s, e in find_in_name(filename, term)]
            out += [Replacement(title, s, e, placeholder, where) for where, s, e in spans]
            found |= {term} if spans else set()
    holding = [title for title, text, _ in rows if any(find_term(text, term) for term in worded)]
    for f in scan_transcripts(study, actor, holding, key=key) if holding else []:
        if f.where == "text" and normalise_term(f.text) in worded:
            out.append(Replacement(f.transcript, f.start, f.end, wanted[normalise_term(f.text)][1]))
            found.add(normalise_term(f.text))
    return out, [text for term, (text, _) in wanted.items() if term not in found]
