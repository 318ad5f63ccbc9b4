"""Codings: one coder's application of one code to a span `[start, end)` of a transcript.

CSV import (`transcript`, `coder`, `code`, optional `memo`, and `start`,`end` and/or `quote`)
serves teams migrating from spreadsheet coding. A quote is located in the transcript with
whitespace normalised; a missing or ambiguous quote is an error naming the row. When both
offsets and a quote are given, the offsets win and the quote must match them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import AccessDenied, Actor, allowed, codings_refusal, default_coder, require, visible_coder_filter
from ..audit import record
from ..codebook.study import CodeIndex
from ..csvio import read_rows
from ..errors import InputError, NotFound, ValidationError
from ..store import Study
from ..store.models import CONSENSUS_NAME, Code, Coding, Transcript, User, utcnow
from ..users import ensure_coder
from .assignments import open_assignment, transcript_by_title

CSV_COLUMNS = ("transcript", "coder", "code", "memo", "start", "end", "quote")


@dataclass
class CodingsReport:
    added: int = 0
    duplicates: int = 0
    created_coders: list[str] = field(default_factory=list)


def locate_quote(text: str, quote: str) -> list[tuple[int, int]]:
    """Every `[start, end)` where `quote` occurs in `text`, whitespace normalised (any run of
    whitespace in either matches any run in the other)."""
    words = unicodedata.normalize("NFC", quote).split()
    if not words:
        return []
    pattern = r"\s+".join(map(re.escape, words))
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def same_words(a: str, b: str) -> bool:
    return unicodedata.normalize("NFC", a).split() == unicodedata.normalize("NFC", b).split()


def import_codings(study: Study, actor: Actor, data: bytes, filename: str = "codings.csv",
                   origin: str = "import") -> CodingsReport:
    """Import codings from CSV. A lead imports anyone's codings; a coder only their own, on
    transcripts assigned to them and not yet submitted."""
    rows = list(read_rows(data, filename, required=("transcript", "coder", "code")))
    report = CodingsReport()
    with study.transaction() as session:
        transcripts = {t.title: t for t in session.scalars(select(Transcript))}
        index = CodeIndex(session, actor)
        existing = {(c.coder_id, c.code_id, c.transcript_id, c.start, c.end)
                    for c in session.scalars(select(Coding))}
        for number, row in rows:
            where = f"{filename}, row {number}"
            transcript = transcripts.get(row["transcript"])
            if transcript is None:
                raise ValidationError(f"no transcript titled {row['transcript']!r}", where)
            if not row["coder"]:
                raise ValidationError("no coder given", where)
            if row["coder"] != actor.name and not allowed(actor, "act_for_other_coders"):
                raise AccessDenied(f"{actor.name} can import only their own codings, not {row['coder']}'s", where)
            coder, created = ensure_coder(session, row["coder"])
            if created:
                report.created_coders.append(coder.name)
            if not allowed(actor, "act_for_other_coders"):
                open_assignment(session, actor, transcript, coder.id)
            code = index.resolve(row["code"], where)
            start, end = _span(transcript.text, row, where)
            key = (coder.id, code.id, transcript.id, start, end)
            if key in existing:
                report.duplicates += 1
                continue
            existing.add(key)
            session.add(Coding(coder_id=coder.id, code_id=code.id, transcript_id=transcript.id,
                               start=start, end=end, memo=row.get("memo", ""), origin=origin,
                               round=_round(transcript)))
            report.added += 1
        record(session, actor.signature, "codings.import", file=filename, added=report.added,
               duplicates=report.duplicates)
    return report


def _round(transcript: Transcript) -> int:
    return 1 if transcript.unblinded_at is None else 2


def _span(text: str, row: dict[str, str], where: str) -> tuple[int, int]:
    quote = row.get("quote", "")
    if row.get("start") or row.get("end"):
        try:
            start, end = int(row.get("start", "")), int(row.get("end", ""))
        except ValueError:
            raise ValidationError("start and end must both be whole numbers", where) from None
        check_span(text, start, end, where)
        if quote and not same_words(text[start:end], quote):
            raise ValidationError(f"the quote does not match the text at {start}–{end}", where)
        return start, end
    if not quote:
        raise InputError("give start and end, or a quote", where)
    found = locate_quote(text, quote)
    if not found:
        raise ValidationError(f"quote not found in the transcript: {_short(quote)!r}", where)
    if len(found) > 1:
        raise ValidationError(
            f"quote is ambiguous: found {len(found)} times (at {', '.join(str(s) for s, _ in found[:5])});"
            " give start and end", where)
    return found[0]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CodingRow:
    id: int
    transcript: str
    coder: str
    code: str
    color: str
    start: int
    end: int
    text: str
    memo: str
    origin: str
    round: int
    created_at: object


def visible_codings(session: Session, actor: Actor, transcript: str | None = None,
                    coder: str | None = None) -> list[CodingRow]:
    """Codings `actor` may read, optionally of one transcript and/or one coder. Asking for
    another coder's codings before unblinding is an error, not an empty answer."""
    query = select(Coding).join(Transcript, Coding.transcript_id == Transcript.id)
    query = query.where(visible_coder_filter(actor))
    target = None
    if transcript is not None:
        target = transcript_by_title(session, transcript)
        query = query.where(Coding.transcript_id == target.id)
    if coder is not None:
        user = session.scalar(select(User).where(User.name == coder))
        if user is None:
            raise NotFound(f"no user named {coder!r}")
        refused = codings_refusal(actor, user, target)
        if refused:
            raise AccessDenied(refused)
        query = query.where(Coding.coder_id == user.id)
    index = CodeIndex(session)
    rows = []
    for coding in session.scalars(query.order_by(Coding.transcript_id, Coding.start, Coding.id)):
        rows.append(CodingRow(
            coding.id, coding.transcript.title, coding.coder.name, index.path(coding.code),
            coding.code.color, coding.start, coding.end,
            coding.transcript.text[coding.start:coding.end], coding.memo, coding.origin,
            coding.round, coding.created_at))
    return rows


def whose_coding(session: Session, actor: Actor, coder: str | None = None) -> tuple[str, list[CodingRow]]:
    """One coder's coding for a report or view: `coder`, else the actor's own for a coder and the
    consensus for anyone else — as far as `actor` may read it. Returns (coder, codings)."""
    coder = coder or default_coder(actor)
    try:
        return coder, visible_codings(session, actor, coder=coder)
    except NotFound:
        if coder == CONSENSUS_NAME:
            raise ValidationError("there is no consensus coding yet: reconcile first, or choose a coder") from None
        raise


def list_codings(study: Study, actor: Actor, transcript: str | None = None,
                 coder: str | None = None) -> list[CodingRow]:
    with study.session() as session:
        return visible_codings(session, actor, transcript, coder)


def coding_rows(session: Session, actor: Actor) -> list[dict]:
    """Every coding `actor` may read, as plain dicts."""
    from dataclasses import asdict

    return [asdict(row) for row in visible_codings(session, actor)]


def check_span(text: str, start: int, end: int, where: str | None = None) -> None:
    """A coding's span must be a non-empty `[start, end)` inside the canonical text."""
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end <= len(text):
        raise ValidationError(f"span {start}–{end} is outside the transcript (0–{len(text)}) or empty", where)


def _codable(session: Session, actor: Actor, ref: str) -> Code:
    code = CodeIndex(session, actor).resolve(ref)
    if code.retired:
        raise ValidationError(f"code {ref!r} is retired and cannot be applied")
    return code


def add_coding(study: Study, actor: Actor, transcript: str, code: str, start: int, end: int,
               memo: str = "", origin: str = "manual") -> int:
    """Apply `code` (path, unique name or GUID) to `[start, end)` as `actor`. Returns its id."""
    if actor.user_id is None:
        raise AccessDenied("codings belong to a user: act as one (--as USER)")
    require(actor, "code_transcript")
    with study.transaction() as session:
        coding = _add(session, actor, transcript_by_title(session, transcript), code, start, end, memo, origin)
        record(session, actor.signature, "coding.add", transcript=transcript, coding=coding.id,
               code=coding.code.guid, start=start, end=end)
        return coding.id


def _add(session: Session, actor: Actor, target: Transcript, code: str, start: int, end: int,
         memo: str, origin: str) -> Coding:
    open_assignment(session, actor, target, actor.user_id)
    check_span(target.text, start, end)
    chosen = _codable(session, actor, code)
    duplicate = session.scalar(select(Coding.id).where(
        Coding.coder_id == actor.user_id, Coding.code_id == chosen.id,
        Coding.transcript_id == target.id, Coding.start == start, Coding.end == end))
    if duplicate:
        raise ValidationError("you already applied this code to exactly this span")
    coding = Coding(coder_id=actor.user_id, code_id=chosen.id, transcript_id=target.id,
                    start=start, end=end, memo=memo, origin=origin, round=_round(target))
    coding.code = chosen
    session.add(coding)
    session.flush()
    return coding


def _own_editable(session: Session, actor: Actor, coding_id: int) -> Coding:
    coding = session.get(Coding, coding_id)
    if coding is None or coding.coder_id != actor.user_id:
        raise NotFound(f"no coding {coding_id} of yours")
    open_assignment(session, actor, coding.transcript, actor.user_id)
    if coding.transcript.unblinded_at is not None and coding.round == 1:
        raise AccessDenied("this coding was made blind and the transcript is now unblinded: it cannot change")
    return coding


def update_coding(study: Study, actor: Actor, coding_id: int, *, code: str | None = None,
                  start: int | None = None, end: int | None = None, memo: str | None = None) -> None:
    """Change one of the actor's own codings (code, span or memo)."""
    with study.transaction() as session:
        coding = _own_editable(session, actor, coding_id)
        changed = _change(session, actor, coding, code, start, end, memo)
        record(session, actor.signature, "coding.change", transcript=coding.transcript.title,
               coding=coding.id, **changed)


def _change(session: Session, actor: Actor, coding: Coding, code: str | None, start: int | None,
            end: int | None, memo: str | None) -> dict:
    changed: dict = {}
    if code is not None:
        coding.code_id = _codable(session, actor, code).id
        session.flush()
        session.refresh(coding, ["code"])
        changed["code"] = coding.code.guid if coding.code else code
    if start is not None or end is not None:
        new_start = coding.start if start is None else start
        new_end = coding.end if end is None else end
        check_span(coding.transcript.text, new_start, new_end)
        coding.start, coding.end = new_start, new_end
        changed.update(start=new_start, end=new_end)
    if memo is not None:
        coding.memo = memo
        changed["memo"] = True
    coding.updated_at = utcnow()
    return changed


def delete_coding(study: Study, actor: Actor, coding_id: int) -> None:
    with study.transaction() as session:
        coding = _own_editable(session, actor, coding_id)
        record(session, actor.signature, "coding.delete", transcript=coding.transcript.title,
               coding=coding.id, start=coding.start, end=coding.end)
        session.delete(coding)


@dataclass(frozen=True)
class CodingStep:
    """One change a coder made to a coding, with what undoing it needs: `action` is "add",
    "change" or "delete"; `before` the coding as it was (code path, start, end, memo) for a
    change or a deletion."""

    action: str
    coding_id: int
    before: dict | None = None


def undo_step(study: Study, actor: Actor, step: CodingStep) -> int | None:
    """Reverse one of the actor's own steps in one transaction, audited as `coding.undo`: an
    addition is deleted, a change set back, a deletion re-created (under the same rules as
    coding: own codings, open assignment). Returns the re-created coding's id (else None)."""
    if step.action not in ("add", "change", "delete"):
        raise ValidationError(f"cannot undo {step.action!r}")
    with study.transaction() as session:
        if step.action == "delete":
            before = step.before or {}
            target = session.scalar(select(Transcript).where(Transcript.title == before.get("transcript")))
            if target is None:
                raise NotFound("the transcript of that coding no longer exists")
            coding = _add(session, actor, target, before["code"], before["start"], before["end"],
                          before.get("memo", ""), before.get("origin", "manual"))
            record(session, actor.signature, "coding.undo", undone="delete", transcript=target.title,
                   coding=coding.id, code=coding.code.guid, start=coding.start, end=coding.end)
            return coding.id
        coding = _own_editable(session, actor, step.coding_id)
        title = coding.transcript.title
        if step.action == "add":
            record(session, actor.signature, "coding.undo", undone="add", transcript=title, coding=coding.id,
                   start=coding.start, end=coding.end)
            session.delete(coding)
            return None
        before = step.before or {}
        changed = _change(session, actor, coding, before.get("code"), before.get("start"), before.get("end"),
                          before.get("memo"))
        record(session, actor.signature, "coding.undo", undone="change", transcript=title, coding=coding.id,
               **changed)
        return None


def own_coding_counts(study: Study, actor: Actor) -> dict[str, int]:
    """How many codings `actor` has on each transcript (one grouped query: the coding screen
    asks on every rerun)."""
    from sqlalchemy import func

    if actor.user_id is None:
        return {}
    with study.session() as session:
        return dict(session.execute(
            select(Transcript.title, func.count(Coding.id)).join(Coding, Coding.transcript_id == Transcript.id)
            .where(Coding.coder_id == actor.user_id).group_by(Transcript.title)).all())
