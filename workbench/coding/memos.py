"""Memos: free text attached to the project, a transcript or a code (a memo on one coding is
that coding's `memo`), with author and time; searchable, listed per object, exportable.

Blind like codings: a coder's memo on a transcript is seen by other coders only once that
transcript is unblinded; a coder's project or code memo by its author and leads only. Leads see
every memo; a lead's memos are seen by everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import AccessDenied, Actor, allowed, may_read_memo, require, require_released
from ..audit import record
from ..codebook.study import CodeIndex
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import Memo, utcnow
from .assignments import transcript_by_title
from .codings import visible_codings


@dataclass
class MemoRow:
    id: int | None  # None for a coding's memo
    kind: str  # project | transcript | code | coding
    transcript: str | None
    code: str | None
    author: str
    title: str
    text: str
    created_at: datetime
    updated_at: datetime | None
    coding: int | None = None


def _may_read(actor: Actor, memo: Memo) -> bool:
    return may_read_memo(actor, memo.author, memo.transcript)


def add_memo(study: Study, actor: Actor, text: str, transcript: str | None = None, code: str | None = None,
             title: str = "") -> int:
    require(actor, "write_memo")
    if actor.user_id is None:
        raise AccessDenied("memos have an author: act as a user (--as USER)")
    if not text.strip():
        raise ValidationError("the memo is empty")
    with study.transaction() as session:
        target = transcript_by_title(session, transcript) if transcript else None
        if target is not None:
            require_released(actor, target)
        chosen = CodeIndex(session, actor).resolve(code) if code else None
        memo = Memo(author_id=actor.user_id, transcript_id=target.id if target else None,
                    code_id=chosen.id if chosen else None, title=title.strip(), text=text.strip())
        session.add(memo)
        session.flush()
        record(session, actor.signature, "memo.add", memo=memo.id, transcript=transcript, code=chosen.guid if chosen else None)
        return memo.id


def _own(session: Session, actor: Actor, memo_id: int) -> Memo:
    memo = session.get(Memo, memo_id)
    if memo is None or not _may_read(actor, memo):
        raise NotFound(f"no memo {memo_id}")
    if memo.author_id != actor.user_id and not allowed(actor, "edit_any_memo"):
        raise AccessDenied("only its author or a lead can change a memo")
    return memo


def edit_memo(study: Study, actor: Actor, memo_id: int, text: str, title: str | None = None) -> None:
    if not text.strip():
        raise ValidationError("the memo is empty")
    with study.transaction() as session:
        memo = _own(session, actor, memo_id)
        memo.text, memo.updated_at = text.strip(), utcnow()
        if title is not None:
            memo.title = title.strip()
        record(session, actor.signature, "memo.change", memo=memo_id)


def delete_memo(study: Study, actor: Actor, memo_id: int) -> None:
    with study.transaction() as session:
        memo = _own(session, actor, memo_id)
        session.delete(memo)
        record(session, actor.signature, "memo.delete", memo=memo_id)


def list_memos(study: Study, actor: Actor, transcript: str | None = None, code: str | None = None,
               search: str | None = None, include_codings: bool = True) -> list[MemoRow]:
    """Memos `actor` may read, newest first; with `transcript`/`code`, those attached to it
    (codings' memos included); `search` matches words in title or text, ignoring case."""
    with study.session() as session:
        index = CodeIndex(session)
        query = select(Memo).order_by(Memo.created_at.desc(), Memo.id.desc())
        target = transcript_by_title(session, transcript) if transcript else None
        chosen = CodeIndex(session, actor).resolve(code) if code else None
        if target is not None:
            query = query.where(Memo.transcript_id == target.id)
        if chosen is not None:
            query = query.where(Memo.code_id == chosen.id)
        rows = []
        for memo in session.scalars(query):
            if not _may_read(actor, memo):
                continue
            kind = "transcript" if memo.transcript_id else "code" if memo.code_id else "project"
            rows.append(MemoRow(memo.id, kind, memo.transcript.title if memo.transcript_id else None,
                                index.path(memo.code) if memo.code_id else None, memo.author.name, memo.title,
                                memo.text, memo.created_at, memo.updated_at))
        if include_codings:
            chosen_path = index.path(chosen) if chosen is not None else None
            for coding in visible_codings(session, actor, transcript=transcript):
                if coding.memo and (chosen_path is None or coding.code == chosen_path):
                    rows.append(MemoRow(None, "coding", coding.transcript, coding.code, coding.coder, "",
                                        coding.memo, coding.created_at, None, coding.id))
    if search:
        words = search.lower().split()
        rows = [r for r in rows if all(w in (r.title + " " + r.text).lower() for w in words)]
    return sorted(rows, key=lambda r: r.created_at, reverse=True)
